job "x" {
  group "g" {
    volume "v" {
      type   = "host"
      source = "a"
    }

    volume "v" {
      type   = "host"
      source = "b"
    }
  }
}
