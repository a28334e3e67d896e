job "x" {
  dynamic "group" {
    for_each = NOMAD_GROUPS
    labels   = [group.key]
    content {}
  }
}
