variable "known" {
  default = "x"
}

job "x" {
  group "g" {
    task "t" {
      driver = var.known
    }
  }
}
