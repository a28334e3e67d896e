variable "known" {
  default = "x"
}

job "x" {
}
