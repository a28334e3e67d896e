# dynamic blocks: groups from a local map, ports and config blocks from
# lists, nested iterators, and runtime references inside dynamic content.
locals {
  groups = {
    web = { count = 2, ports = ["http", "admin"] }
    api = { count = 1, ports = ["grpc"] }
  }
  mounts = ["/a", "/b"]
}

job "dyn" {
  dynamic "group" {
    for_each = local.groups
    labels   = [group.key]

    content {
      count = group.value.count

      network {
        dynamic "port" {
          for_each = group.value.ports
          iterator = p
          labels   = [p.value]

          content {
            to = 8000 + p.key
          }
        }
      }

      task "main" {
        driver = "docker"

        config {
          image = "${group.key}:latest"

          dynamic "mount" {
            for_each = local.mounts

            content {
              type   = "bind"
              source = "${mount.value}-${group.key}"
              target = "${mount.value}"
            }
          }
        }

        env {
          GROUP = group.key
          PORT  = "${NOMAD_PORT_http}"
        }

        dynamic "template" {
          for_each = group.value.ports
          content {
            data        = "port ${template.value} is ${NOMAD_PORT_http}"
            destination = "local/${template.value}.txt"
          }
        }
      }
    }
  }
}
