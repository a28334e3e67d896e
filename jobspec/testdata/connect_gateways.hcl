# Connect native services and ingress, terminating and mesh gateways.
job "gateways" {
  group "native" {
    network {
      mode = "bridge"
      port "http" {}
    }

    service {
      name = "native-app"
      port = "http"
      task = "app"

      connect {
        native = true
      }
    }

    task "app" {
      driver = "exec"

      config {
        command = "app"
      }
    }
  }

  group "ingress" {
    network {
      mode = "bridge"
      port "inbound" {
        static = 8080
        to     = 8080
      }
    }

    service {
      name = "ingress"
      port = "8080"

      connect {
        gateway {
          proxy {
            connect_timeout                     = "10s"
            envoy_gateway_bind_tagged_addresses = false
            envoy_gateway_no_default_bind       = true
            envoy_dns_discovery_type            = "STRICT_DNS"

            envoy_gateway_bind_addresses "web" {
              address = "0.0.0.0"
              port    = 8080
            }

            config {
              envoy_stats_flush_interval = "5s"
            }
          }

          ingress {
            tls {
              enabled         = true
              tls_min_version = "TLSv1_2"
              cipher_suites   = ["TLS_AES_128_GCM_SHA256"]

              sds {
                cluster_name  = "sds"
                cert_resource = "cert"
              }
            }

            listener {
              port     = 8080
              protocol = "http"

              service {
                name  = "web"
                hosts = ["web.example.com"]
                max_connections = 100

                request_headers {
                  add = {
                    X-Source = "ingress"
                  }
                  remove = ["X-Debug"]
                }

                response_headers {
                  set {
                    X-Frame-Options = "DENY"
                  }
                }
              }
            }

            listener {
              port = 9090

              service {
                name = "db"
              }
            }
          }
        }
      }
    }

    task "placeholder" {
      driver = "docker"

      config {
        image = "pause"
      }
    }
  }

  group "terminating" {
    network {
      mode = "bridge"
    }

    service {
      name = "terminating"

      connect {
        gateway {
          terminating {
            service {
              name      = "legacy-db"
              ca_file   = "/etc/ca.pem"
              cert_file = "/etc/cert.pem"
              key_file  = "/etc/key.pem"
              sni       = "db.legacy"
            }
          }
        }
      }
    }

    task "placeholder" {
      driver = "docker"

      config {
        image = "pause"
      }
    }
  }

  group "mesh" {
    network {
      mode = "bridge"
      port "mesh" {}
    }

    service {
      name = "mesh-gateway"
      port = "mesh"

      connect {
        gateway {
          mesh {}
        }
      }
    }

    task "placeholder" {
      driver = "docker"

      config {
        image = "pause"
      }
    }
  }
}
