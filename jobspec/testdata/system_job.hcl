# A system job: no reschedule defaults, restart defaults of a service.
job "agent" {
  type = "system"

  update {
    max_parallel = 5
  }

  group "agent" {
    restart {
      delay = "5s"
    }

    task "agent" {
      driver = "raw_exec"

      config {
        command = "agent"
      }
    }
  }
}
