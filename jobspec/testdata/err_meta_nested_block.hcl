job "x" {
  meta {
    nested {
      a = "b"
    }
  }
}
