# A sample of the function library.
locals {
  envs    = ["dev", "prod"]
  conf    = jsondecode("{\"a\": 1, \"b\": [true]}")
  subnets = cidrsubnets("10.0.0.0/16", 8, 8)
}

job "functions" {
  datacenters = formatlist("dc-%s", local.envs)

  meta {
    join      = join(",", concat(local.envs, ["stage"]))
    upper     = upper(title("hello world"))
    format    = format("%s-%03d", "id", 7)
    json      = jsonencode({ b = 2, a = [1, "x"] })
    yaml      = yamlencode({ a = 1 })
    from_json = local.conf.a
    merged    = jsonencode(merge({ a = 1 }, { b = 2 }))
    lookup    = lookup({ a = "x" }, "b", "fallback")
    try       = try(local.conf.missing, "default")
    can       = can(local.conf.missing)
    index     = index(local.envs, "prod")
    element   = element(local.envs, 3)
    length    = length(local.envs)
    cidrhost  = cidrhost("10.0.0.0/24", 5)
    subnet    = local.subnets[1]
    netmask   = cidrnetmask("10.0.0.0/12")
    sha256    = sha256("roam")
    base64    = base64encode("roam")
    decoded   = base64decode("cm9hbQ==")
    url       = urlencode("a b&c")
    replace   = replace("a-b-c", "-", "_")
    regex     = regex_replace("v1.2.3", "\\.", "_")
    split     = jsonencode(split(",", "a,b"))
    trim      = trimspace("  x  ")
    prefix    = trimprefix("roam-job", "roam-")
    substr    = substr("orchestrator", 0, 5)
    strrev    = strrev("maor")
    range     = jsonencode(range(3))
    zipmap    = jsonencode(zipmap(["a", "b"], [1, 2]))
    keys      = jsonencode(keys({ z = 1, y = 2 }))
    sort      = jsonencode(sort(["b", "a"]))
    distinct  = jsonencode(distinct(["a", "a", "b"]))
    flatten   = jsonencode(flatten([[1], [2, [3]]]))
    reverse   = jsonencode(reverse([1, 2, 3]))
    max       = max(3, 9, 1)
    min       = min(3, 9, 1)
    pow       = pow(2, 10)
    parseint  = parseint("ff", 16)
    ceil      = ceil(1.2)
    abs       = abs(-4)
    csv       = jsonencode(csvdecode("a,b\n1,2\n"))
    date      = formatdate("YYYY-MM-DD", "2024-02-29T10:00:00Z")
    timeadd   = timeadd("2024-01-01T00:00:00Z", "36h")
    coalesce  = coalesce("", "second")
    compact   = jsonencode(compact(["a", "", "b"]))
    chunk     = jsonencode(chunklist([1, 2, 3], 2))
    uuidv5    = uuidv5("dns", "roam.sh")
    convert   = convert(5, string)
    indent    = indent(2, "a\nb")
    chomp     = chomp("line\n")
    contains  = contains(local.envs, "dev")
    slice     = jsonencode(slice(local.envs, 0, 1))
    setunion  = jsonencode(setunion(["a"], ["b"]))
    values    = jsonencode(values({ a = 1 }))
    signum    = signum(-3)
    log       = log(8, 2)
    floor     = floor(2.7)
    strlen    = strlen("roam")
    lower     = lower("ROAM")
    trimsuf   = trimsuffix("file.nomad", ".nomad")
  }

  group "g" {
    task "t" {
      driver = "exec"

      config {
        command = "true"
      }
    }
  }
}
