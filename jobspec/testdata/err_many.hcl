# Every problem is reported, not just the first.
job "x" {
  typ = "batch"

  group "g" {
    count = "two"

    task "t" {
      driver      = "exec"
      kill_timout = "5s"

      resources {
        memory = "lots"
      }
    }
  }

  group "h" {
    reschedule {
      delay_function = "linear"
    }
  }
}
