job {
  group {
  }
}
