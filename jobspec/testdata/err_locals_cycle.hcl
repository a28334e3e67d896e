locals {
  a = local.b
  b = local.a
  c = "fine"
}

job "x" {
}
