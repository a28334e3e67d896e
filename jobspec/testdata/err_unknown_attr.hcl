job "x" {
  group "g" {
    task "t" {
      driverr = "docker"
    }
  }
}
