# A cron spec that cannot be parsed is refused where it is written.
job "x" {
  type = "batch"

  periodic {
    cron = "61 * * * *"
  }
}
