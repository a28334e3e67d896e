job "x" {
  group "g" {
    ephemeral_disk {
      size = 100
    }

    ephemeral_disk {
      size = 200
    }

    task "t" {
      driver = "exec"

      resources {
        cpu = 100
      }

      resources {
        cpu = 200
      }
    }
  }
}
