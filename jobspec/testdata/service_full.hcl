# Service and check fields; a service-level check_restart merges under each
# check's own.
job "svc" {
  group "web" {
    network {
      port "http" {
        to = 8080
      }
      port "grpc" {}
    }

    service {
      name                = "web-${NOMAD_ALLOC_INDEX}"
      port                = "http"
      provider            = "consul"
      tags                = ["urlprefix-/", "v1"]
      canary_tags         = ["canary"]
      enable_tag_override = true
      address_mode        = "alloc"
      task                = "app"
      on_update           = "ignore_warnings"
      cluster             = "default"
      kind                = ""

      meta {
        version = "1"
      }

      canary_meta {
        canary = "yes"
      }

      tagged_addresses = {
        lan = "10.0.0.1"
      }

      weights {
        passing = 5
      }

      identity {
        aud = ["consul.io"]
        ttl = "1h"
      }

      check_restart {
        limit           = 3
        grace           = "30s"
        ignore_warnings = true
      }

      check {
        name     = "alive"
        type     = "http"
        path     = "/health"
        method   = "POST"
        body     = "{}"
        protocol = "https"
        interval = "10s"
        timeout  = "2s"
        tls_skip_verify = true
        tls_server_name = "web.local"
        initial_status  = "passing"
        notes           = "liveness"
        expose          = false
        address_mode    = "host"

        header {
          Authorization = ["Basic x"]
          X-Multi       = ["a", "b"]
        }

        check_restart {
          ignore_warnings = true
        }
      }

      check {
        type     = "tcp"
        port     = "grpc"
        interval = "5s"
        timeout  = "1s"
        success_before_passing   = 2
        failures_before_critical = 3
        failures_before_warning  = 1
      }

      check {
        type     = "script"
        command  = "/bin/check"
        args     = ["-v"]
        task     = "app"
        interval = "30s"
        timeout  = "5s"
        on_update = "ignore"

        check_restart {
          limit = 0
        }
      }

      check {
        type         = "grpc"
        port         = "grpc"
        grpc_service = "health"
        grpc_use_tls = true
        interval     = "10s"
        timeout      = "3s"
      }
    }

    task "app" {
      driver = "docker"

      config {
        image = "web:1"
      }

      service {
        name     = "app-task"
        provider = "consul"
        port     = 8080
        address  = "10.1.2.3"

        check {
          type     = "http"
          path     = "/"
          interval = "10s"
          timeout  = "1s"
          header = {
            Host = ["example.com"]
          }
        }
      }
    }
  }
}
