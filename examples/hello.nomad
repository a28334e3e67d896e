# A first job for `roam agent -dev`: two copies of a small service, each with a
# dynamic port, run by the raw_exec driver.
job "hello" {
  datacenters = ["dc1"]

  group "web" {
    count = 2

    network {
      port "http" {}
    }

    task "server" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = ["-c", <<EOT
while true; do
  echo "hello from ${NOMAD_ALLOC_NAME}, port ${NOMAD_PORT_http}"
  sleep 5
done
EOT
        ]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
