variable "count" {
  type = number
}

variable "bad_default" {
  type    = list(string)
  default = "not a list"
}

job "x" {
}
