# Every group-level attribute and block; job-level update, migrate and
# reschedule merge under the group's own blocks.
job "groups" {
  update {
    max_parallel = 3
    stagger      = "45s"
  }

  reschedule {
    delay     = "10s"
    max_delay = "10m"
  }

  migrate {
    max_parallel = 2
  }

  group "db" {
    shutdown_delay               = "5s"
    stop_after_client_disconnect = "2h"
    prevent_reschedule_on_lost   = true

    meta {
      tier = "data"
    }

    volume "data" {
      type      = "host"
      source    = "pg-data"
      read_only = false
    }

    volume "shared" {
      type            = "csi"
      source          = "nfs"
      access_mode     = "multi-node-multi-writer"
      attachment_mode = "file-system"
      per_alloc       = true
      sticky          = true

      mount_options {
        fs_type     = "nfs"
        mount_flags = ["noatime"]
      }
    }

    restart {
      attempts = 5
      mode     = "delay"
    }

    reschedule {
      attempts  = 4
      interval  = "1h"
      unlimited = false
    }

    update {
      canary       = 2
      auto_promote = true
    }

    migrate {
      health_check = "task_states"
    }

    ephemeral_disk {
      size    = 1024
      sticky  = true
      migrate = true
    }

    consul {
      namespace = "data"
      cluster   = "east"
    }

    disconnect {
      lost_after = "30m"
      reconcile  = "keep_original"
    }

    scaling {
      min = 2
      max = 10

      policy {
        cooldown = "1m"

        check "cpu" {
          source = "prometheus"
          query  = "avg(cpu)"
        }
      }
    }

    task "pg" {
      driver = "docker"

      config {
        image = "postgres:16"
      }

      restart {
        delay = "30s"
      }
    }
  }

  group "cache" {
    count                 = 0
    max_client_disconnect = "1h"

    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
      }
    }
  }
}
