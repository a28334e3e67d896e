# The variables block declares several variables with defaults at once.
variables {
  image = "redis:7"
  port  = 6379
  tags  = ["cache", "redis"]
}

job "short" {
  group "cache" {
    network {
      port "db" {
        to = var.port
      }
    }

    service {
      name = "redis"
      port = "db"
      tags = var.tags
    }

    task "redis" {
      driver = "docker"

      config {
        image = var.image
      }
    }
  }
}
