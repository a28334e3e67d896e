# crons are parsed one by one; no duration may be negative, old disconnect
# settings and new alike.
job "x" {
  type = "batch"

  periodic {
    crons = ["@daily", "0 0 30 2 *"]
  }

  group "g" {
    max_client_disconnect        = -5
    stop_after_client_disconnect = "-1s"

    disconnect {
      lost_after           = "-1h"
      stop_on_client_after = "-10m"
    }

    task "t" {
      driver       = "exec"
      kill_timeout = "-1s"
    }
  }
}
