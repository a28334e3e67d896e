job "x" {
  meta {
    content = file("secret.txt")
  }
}
