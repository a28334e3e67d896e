# Network modes, ports (static, dynamic, mapped, strings converted to
# numbers), hostname, dns and cni.
job "net" {
  group "bridge" {
    network {
      mode     = "bridge"
      hostname = "${NOMAD_ALLOC_ID}.internal"
      mbits    = 10

      port "http" {
        static = "9090"
        to     = "8080"
      }

      port "metrics" {
        to = -1
      }

      port "admin" {
        static       = 0
        host_network = "private"
      }

      port "public" {
        static       = 443
        host_network = "${meta.public_network}"
      }

      dns {
        servers  = ["1.1.1.1", "8.8.8.8"]
        searches = ["svc.local"]
        options  = ["ndots:2"]
      }
    }

    task "app" {
      driver = "docker"

      config {
        image = "app:1"
        ports = ["http", "metrics"]
      }
    }
  }

  group "cni" {
    network {
      mode = "cni/mynet"

      cni {
        args = {
          IgnoreUnknown = "true"
          "K8S_POD_NAME" = "${NOMAD_ALLOC_NAME}"
        }
      }
    }

    task "app" {
      driver = "exec"

      config {
        command = "app"
      }
    }
  }

  group "host" {
    network {
      port "dns" {
        static           = 53
        ignore_collision = true
      }
    }

    task "dns" {
      driver = "raw_exec"

      config {
        command = "coredns"
      }
    }
  }
}
