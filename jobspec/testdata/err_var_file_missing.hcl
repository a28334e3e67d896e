job "x" {
}
