# Variable precedence: default < NOMAD_VAR_ env < var files (in order) < -var.
variable "image" {
  type        = string
  default     = "app:default"
  description = "set only by its default"
}

variable "from_env" {
  type    = string
  default = "default"
}

variable "from_file" {
  type    = string
  default = "default"
}

variable "from_json_file" {
  type    = string
  default = "default"
}

variable "from_flag" {
  type    = string
  default = "default"
}

variable "count" {
  type    = number
  default = 1

  validation {
    condition     = var.count > 0 && var.count < 10
    error_message = "The count must be between 1 and 9."
  }
}

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "labels" {
  type = map(string)
  default = {
    team = "a"
  }
}

variable "required" {
  type      = string
  sensitive = true
}

locals {
  # locals may refer to each other in any order
  full_name = "${local.base}-${var.from_flag}"
  base      = upper(var.from_env)
}

locals {
  port_env = "${NOMAD_PORT_http}"
}

job "vars" {
  datacenters = var.datacenters
  meta        = var.labels

  group "g" {
    count = var.count

    task "t" {
      driver = "docker"

      config {
        image = var.image
      }

      env {
        FROM_ENV       = var.from_env
        FROM_FILE      = var.from_file
        FROM_JSON_FILE = var.from_json_file
        FROM_FLAG      = var.from_flag
        REQUIRED       = var.required
        FULL           = local.full_name
        PORT           = local.port_env
      }
    }
  }
}
