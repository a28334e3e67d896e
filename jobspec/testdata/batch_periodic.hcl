# A periodic, parameterized batch job: restart and reschedule blocks start
# from the batch defaults.
job "report" {
  type = "batch"

  periodic {
    crons            = ["0 3 * * *", "0 15 * * *"]
    prohibit_overlap = true
    time_zone        = "Europe/Paris"
  }

  parameterized {
    payload       = "required"
    meta_required = ["customer"]
    meta_optional = ["format"]
  }

  reschedule {
    attempts = 3
  }

  group "run" {
    restart {
      attempts = 1
    }

    task "report" {
      driver = "exec"

      config {
        command = "local/report"
        args    = ["--customer", "${NOMAD_META_customer}"]
      }

      dispatch_payload {
        file = "input.json"
      }
    }
  }
}
