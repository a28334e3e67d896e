job "x" {
  group "g" {
    network {
      mode = "bridg"
    }

    restart {
      mode = "fial"
    }

    service {
      provider     = "nomda"
      address_mode = "hots"
    }

    task "t" {
      driver = "exec"

      template {
        change_mode = "reload"
      }

      lifecycle {
        hook = "prestrat"
      }
    }
  }
}
