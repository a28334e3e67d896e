# Every task field, with docker config holding nested blocks.
job "tasks" {
  group "app" {
    restart {
      attempts = 4
      interval = "10m"
    }

    volume "data" {
      type   = "host"
      source = "data"
    }

    task "init" {
      driver = "exec"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        command = "local/init.sh"
      }
    }

    task "app" {
      driver         = "docker"
      user           = "app"
      kill_timeout   = "20s"
      kill_signal    = "SIGTERM"
      shutdown_delay = "2s"
      leader         = true

      config {
        image      = "registry.local/app:1.2"
        args       = ["-port", "${NOMAD_PORT_http}"]
        privileged = false
        shm_size   = 67108864
        labels = {
          "com.example.team" = "web"
        }

        mount {
          type   = "bind"
          source = "local/conf"
          target = "/etc/app"
          readonly = true
          bind_options {
            propagation = "rshared"
          }
        }

        mount {
          type   = "tmpfs"
          target = "/scratch"
        }

        auth {
          username = "bot"
          password = "secret"
        }

        logging {
          type = "syslog"
          config {
            tag = "app"
          }
        }

        ulimit {
          nofile = "4096:8192"
        }
      }

      env {
        LOG_LEVEL = "info"
        ADDR      = "${NOMAD_ADDR_http}"
        WORKERS   = 4
      }

      meta {
        release = "2024.1"
      }

      resources {
        cpu        = 500
        memory     = 256
        memory_max = 512
        disk       = 100

        device "nvidia/gpu" {
          count = 2

          constraint {
            attribute = "${device.attr.memory}"
            operator  = ">="
            value     = "2 GiB"
          }

          affinity {
            attribute = "${device.model}"
            value     = "Tesla K80"
            weight    = 50
          }
        }
      }

      restart {
        attempts = 10
      }

      logs {
        max_files     = 5
        max_file_size = 20
      }

      artifact {
        source      = "https://example.com/app.tar.gz"
        destination = "local/app"
        mode        = "dir"
        chown       = true

        options {
          checksum = "sha256:abcd"
        }

        headers {
          User-Agent = "roam"
        }
      }

      template {
        data        = <<EOH
PORT={{ env "NOMAD_PORT_http" }}
ADDR=${NOMAD_ADDR_http}
{{ range nomadService "db" }}DB={{ .Address }}:{{ .Port }}{{ end }}
EOH
        destination = "secrets/app.env"
        env         = true
        change_mode = "signal"
        change_signal = "sighup"
      }

      template {
        source          = "local/app.tpl"
        destination     = "local/app.conf"
        change_mode     = "script"
        perms           = "0600"
        uid             = 1000
        gid             = 1000
        splay           = "0s"
        left_delimiter  = "[["
        right_delimiter = "]]"
        error_on_missing_key = true
        once            = true

        change_script {
          command       = "/bin/reload"
          args          = ["-now"]
          fail_on_error = true
        }

        wait {
          min = "2s"
          max = "10s"
        }
      }

      template {
        data        = "static"
        destination = "local/static.txt"
      }

      volume_mount {
        volume           = "data"
        destination      = "/data"
        read_only        = true
        propagation_mode = "host-to-task"
        selinux_label    = "z"
      }

      constraint {
        attribute = "${attr.driver.docker}"
        value     = "1"
      }

      affinity {
        attribute = "${node.class}"
        operator  = "regexp"
        value     = "^gpu-"
      }

      vault {
        policies    = ["app"]
        change_mode = "noop"
        env         = false
      }

      identity {
        env  = true
        file = true
      }

      identity {
        name          = "vault_default"
        aud           = ["vault.io"]
        file          = true
        ttl           = "1h"
        change_mode   = "signal"
        change_signal = "SIGHUP"
      }

      consul {
        namespace = "web"
      }
    }

    task "logs" {
      driver = "raw_exec"

      lifecycle {
        hook    = "poststart"
        sidecar = true
      }

      logs {
        disabled = true
      }

      config {
        command = "tail"
      }
    }
  }
}
