job "x" {
  grup "web" {
  }
}
