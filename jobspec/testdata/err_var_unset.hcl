variable "image" {
  type = string
}

job "x" {
}
