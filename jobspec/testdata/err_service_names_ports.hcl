job "x" {
  group "g" {
    network {
      port "http" {}
    }

    service {
      name = "web_api"
      port = "htp"

      check {
        type     = "http"
        path     = "/"
        port     = "admin"
        interval = "10s"
        timeout  = "2s"
      }
    }

    service {
      name = "${NOMAD_JOB_NAME}-ok"
      port = "http"
    }

    task "t" {
      driver = "exec"

      service {
        name = "-bad"
        port = "8080"
      }
    }
  }
}
