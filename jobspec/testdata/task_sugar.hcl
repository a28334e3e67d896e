# A task written directly in the job runs as a group of its own.
job "solo" {
  type = "batch"

  task "hello" {
    driver = "exec"

    config {
      command = "echo"
      args    = ["hello"]
    }

    restart {
      attempts = 0
    }
  }
}
