job "x" {
  group "g" {
    task "t" {
      driver = "raw_exec"

      identity {
        env = true
      }

      identity {
        name = "default"
        file = true
      }
    }
  }
}
