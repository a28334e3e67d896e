job "x" {
  group "g" {
    task "t" {
      driver = "exec"

      template {
        destination = "local/env.txt"
        data        = "expand={{ sprig_expandenv \"$AGENT_SECRET\" }} host={{ sprig_getHostByName \"localhost\" }}"
      }

      template {
        destination = "local/rec.txt"
        data        = <<EOT
ok
{{ define "a" }}{{ executeTemplate "a" }}{{ end }}{{ executeTemplate "a" }}
EOT
      }
    }
  }
}
