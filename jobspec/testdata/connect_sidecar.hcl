# A Connect service with every sidecar_service, proxy and sidecar_task field.
job "mesh" {
  group "api" {
    network {
      mode = "bridge"

      port "expose" {
        to = -1
      }
    }

    service {
      name = "count-api"
      port = "9001"

      connect {
        sidecar_service {
          tags                      = ["mesh"]
          port                      = "connect-proxy-count-api"
          disable_default_tcp_check = true

          meta {
            owner = "team-a"
          }

          proxy {
            local_service_address = "127.0.0.1"
            local_service_port    = 9001

            config {
              protocol         = "http"
              local_connect_timeout_ms = 5000
            }

            upstreams {
              destination_name      = "count-db"
              destination_namespace = "data"
              destination_type      = "service"
              local_bind_port       = 5432
              local_bind_address    = "127.0.0.2"
              datacenter            = "dc2"

              mesh_gateway {
                mode = "local"
              }

              config {
                connect_timeout_ms = 1000
              }
            }

            upstreams {
              destination_name       = "cache"
              local_bind_socket_path = "/alloc/tmp/cache.sock"
              local_bind_socket_mode = "0600"
            }

            expose {
              path {
                path            = "/metrics"
                protocol        = "http"
                local_path_port = 9102
                listener_port   = "expose"
              }
            }

            transparent_proxy {
              uid                    = "101"
              outbound_port          = 15001
              exclude_inbound_ports  = ["expose", "9000"]
              exclude_outbound_ports = [53, "8600"]
              exclude_outbound_cidrs = ["10.0.0.0/8"]
              exclude_uids           = ["0"]
              no_dns                 = true
            }
          }
        }

        sidecar_task {
          name         = "proxy"
          driver       = "docker"
          user         = "envoy"
          kill_timeout = "10s"
          kill_signal  = "SIGTERM"
          shutdown_delay = "3s"

          config {
            image = "envoyproxy/envoy:v1.29"
          }

          env {
            ENVOY_LOG = "debug"
          }

          meta {
            role = "proxy"
          }

          resources {
            cpu    = 300
            memory = 96
          }

          logs {
            max_files     = 2
            max_file_size = 2
          }

          volume_mount {
            volume      = "certs"
            destination = "/certs"
          }
        }
      }
    }

    volume "certs" {
      type   = "host"
      source = "certs"
    }

    task "api" {
      driver = "docker"

      config {
        image = "counter-api:v3"
      }
    }
  }
}
