# Runtime references the parser does not know stay as ${...} text, alone,
# mixed with literal text, var references and each other, in heredocs and
# through index steps.
variable "prefix" {
  default = "svc"
}

job "passthrough" {
  constraint {
    attribute = "${attr.unique.network.ip-address}"
    operator  = "is_set"
  }

  group "g" {
    network {
      port "http" {}
    }

    service {
      name = "${var.prefix}-${NOMAD_JOB_NAME}-${NOMAD_GROUP_NAME}"
      tags = ["${node.datacenter}", "alloc-${NOMAD_ALLOC_INDEX}"]
      port = "http"
    }

    task "t" {
      driver = "docker"

      config {
        image   = "app:${NOMAD_META_version}"
        args    = ["--listen", "${NOMAD_IP_http}:${NOMAD_PORT_http}", "--node=${node.unique.name}"]
        command = "${upper("x")}-${NOMAD_TASK_NAME}"
      }

      env {
        ALONE     = "${NOMAD_PORT_http}"
        MIXED     = "http://${NOMAD_ADDR_http}/path?x=${NOMAD_ALLOC_ID}"
        KERNEL    = "${attr.kernel.name}"
        NODE      = "${node.unique.id}"
        CLIENT    = "${meta.foo}"
        ODD       = "${env["a...b"]}"
        UPSTREAM  = "${NOMAD_UPSTREAM_ADDR_count_api}"
        INDEXED   = "${foo[0]}"
        DEEP      = "${attr.platform.aws["instance-type"]}"
        WITH_VAR  = "${var.prefix}.${NOMAD_SHORT_ALLOC_ID}"
        ESCAPED   = "$${NOT_INTERPOLATED}"
        BARE      = NOMAD_DC
        TWO_SAME  = "${meta.a}-${meta.a}-${meta.b.c}"
      }

      template {
        destination = "local/out.txt"
        data        = <<-EOT
          addr=${NOMAD_ADDR_http}
          name=${var.prefix}
          host={{ env "attr.unique.hostname" }}
          kernel=${attr.kernel.name}
        EOT
      }
    }
  }
}
