{
  "variable": {
    "image": {
      "type": "string",
      "default": "redis:7"
    },
    "ports": {
      "type": "list(number)",
      "default": [6379]
    }
  },
  "job": {
    "cache": {
      "datacenters": ["dc1"],
      "meta": {
        "a.b": "c"
      },
      "group": {
        "cache": {
          "count": 2,
          "network": {
            "mode": "bridge",
            "port": {
              "db": {
                "static": "${var.ports[0]}"
              },
              "metrics": {
                "to": 9121
              }
            }
          },
          "service": [
            {
              "name": "redis",
              "port": "db",
              "check": [
                {
                  "type": "tcp",
                  "interval": "10s",
                  "timeout": "2s"
                }
              ]
            }
          ],
          "task": {
            "redis": {
              "driver": "docker",
              "config": {
                "image": "${var.image}",
                "args": ["--port", "${NOMAD_PORT_db}"],
                "mount": [
                  {
                    "type": "bind",
                    "target": "/data"
                  }
                ]
              },
              "env": {
                "NODE": "${node.unique.name}"
              },
              "resources": {
                "cpu": 200,
                "memory": 128
              }
            }
          }
        }
      }
    }
  }
}
