job "x" {
  type = "servic"
}
