# meta written as an attribute map, with keys that need quoting.
job "meta" {
  meta = {
    "dotted.key"  = "a"
    "dashed-key"  = 1
    plain         = true
  }

  group "g" {
    meta = {
      "group.level" = "x"
    }

    task "t" {
      driver = "raw_exec"
      meta = {
        "task.level" = "y"
      }
      env = {
        PATH_EXTRA = "/opt/bin"
      }

      config {
        command = "date"
      }
    }
  }
}
