# Every job-level attribute and block.
job "web-app" {
  name        = "Web App"
  type        = "service"
  datacenters = ["dc1", "dc2*"]
  namespace   = "prod"
  region      = "eu"
  node_pool   = "fast"
  priority    = 70
  all_at_once = true

  meta {
    team      = "payments"
    cost-code = 42
  }

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  constraint {
    attribute = "${attr.os.version}"
    operator  = "version"
    value     = ">= 22.04"
  }

  constraint {
    distinct_hosts = true
  }

  constraint {
    distinct_property = "${meta.rack}"
    value             = "2"
  }

  constraint {
    attribute = "${node.class}"
    operator  = "=="
    value     = "web"
  }

  affinity {
    attribute = "${node.datacenter}"
    value     = "dc1"
    weight    = -30
  }

  affinity {
    attribute = "${meta.tags}"
    set_contains_any = "ssd,nvme"
  }

  spread {
    attribute = "${node.datacenter}"
    weight    = 80

    target "dc1" {
      percent = 60
    }

    target "dc2" {
      percent = "40"
    }
  }

  update {
    max_parallel      = 2
    canary            = 1
    auto_revert       = true
    min_healthy_time  = "20s"
    healthy_deadline  = "3m"
    progress_deadline = "15m"
  }

  migrate {
    max_parallel = 3
  }

  reschedule {
    delay          = "1m"
    delay_function = "fibonacci"
  }

  vault {
    policies = ["web"]
  }

  consul {
    namespace = "apps"
  }

  ui {
    description = "the web app"
  }

  group "web" {
    task "app" {
      driver = "exec"

      config {
        command = "/bin/app"
      }
    }
  }
}
