job "x" {
  group "g" {
    service {
      on_update = "ignore_warning"

      check {
        type         = "htp"
        address_mode = "auto"
        on_update    = "never"
      }
    }

    task "t" {
      driver = "exec"

      vault {
        change_mode = "script"
      }
    }
  }
}
