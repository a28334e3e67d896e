job "x" {
  group "g" {
    task "t" {
      driver = "exec"

      template {
        destination = "local/app.conf"
        data        = <<EOT
upstream {{ range nomadService "redis" }}{{ .Address }}{{ end }}
password {{ key "redis/password" }}
token {{ with secret "kv/app" }}{{ .Data.token }}{{ end }}
EOT
      }

      template {
        destination = "local/broken"
        data        = "{{ range nomadService \"redis\" }}"
      }

      template {
        destination     = "local/delims"
        left_delimiter  = "[["
        right_delimiter = "]]"
        data            = "{{ key \"not-parsed\" }} [[ nosuch ]]"
      }
    }
  }
}
