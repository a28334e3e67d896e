job "x" {
  priority    = "high"
  datacenters = "dc1"
  all_at_once = "maybe"

  group "g" {
    count = 1.5

    network {
      port "http" {
        static = "eighty"
      }
    }

    task "t" {
      driver = ["docker"]
    }
  }
}
