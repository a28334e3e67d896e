job "x" {
  meta {
    a = uppr("x")
  }
}
