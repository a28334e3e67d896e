job "x" {
  group "g" {
    shutdown_delay = 5

    task "t" {
      driver       = "exec"
      kill_timeout = "10x"

      restart {
        delay = "soon"
      }
    }
  }
}
