job "plugin" {
  type = "system"
  group "nodes" {
    task "plugin" {
      driver = "docker"
      config {
        image = "example/csi:1"
      }
      csi_plugin {
        id                     = "hostpath"
        type                   = "monolith"
        mount_dir              = "/csi"
        stage_publish_base_dir = "/local/csi"
        health_timeout         = "1m"
      }
    }
  }
}
