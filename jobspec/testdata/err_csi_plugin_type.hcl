job "plugin" {
  group "nodes" {
    task "plugin" {
      driver = "docker"
      csi_plugin {
        id   = "hostpath"
        type = "sidecar"
      }
    }
  }
}
