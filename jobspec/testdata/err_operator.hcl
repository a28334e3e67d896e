job "x" {
  constraint {
    attribute = "${attr.kernel.name}"
    operator  = "regex"
    value     = "linux"
  }

  constraint {
    operator       = "="
    distinct_hosts = true
  }
}
