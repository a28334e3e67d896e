# Filesystem functions read relative to the job file's directory when the
# caller allows it (the command line does).
job "files" {
  group "g" {
    task "t" {
      driver = "exec"

      config {
        command = "cat"
      }

      template {
        data        = file("testdata/files/greeting.txt")
        destination = "local/greeting.txt"
      }

      meta {
        exists = fileexists("testdata/files/greeting.txt")
        base   = basename("testdata/files/greeting.txt")
        set    = jsonencode(fileset("testdata/files", "*.txt"))
      }
    }
  }
}
