# The appointment service: appointments, doctor schedules, time slots, reminders.
# Store: MySQL (hospital_appointment database).
#
# The service registers itself in Consul (ID appointment-<host>-<port>, HTTP check on
# /healthz/ready) and deregisters on SIGTERM, so this job has no `service` block.
#
# Local: raw_exec runs build/bin/appointment. Cluster: set driver = "exec" and
# artifact to a URL of the binary (binary then names it inside the task dir,
# e.g. "local/appointment"); put the secrets in Nomad Variables or Vault rather than -var.

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "instances" {
  type    = number
  default = 1
}

variable "driver" {
  type    = string
  default = "raw_exec"
}

variable "binary" {
  type        = string
  description = "Path of the appointment binary (build/bin/appointment locally)."
}

variable "artifact" {
  type        = string
  default     = ""
  description = "Optional go-getter URL the client downloads into local/ before starting."
}

variable "consul_http_addr" {
  type    = string
  default = "127.0.0.1:8500"
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "loki_push_url" {
  type        = string
  default     = ""
  description = "Loki push API URL for the service's JSON logs (VictoriaLogs locally); empty: stdout only."
}

variable "service_secret" {
  type        = string
  description = "The service's client secret for service tokens (matches appointment=... in the user service's SERVICE_CLIENTS)."
}

variable "mysql_dsn" {
  type        = string
  description = "go-sql-driver DSN of the hospital_appointment database."
}

variable "public_base_url" {
  type    = string
  default = "http://127.0.0.1:8080"
}

variable "extra_env" {
  type        = map(string)
  default     = {}
  description = "More environment variables for the task."
}

variable "revision" {
  type        = string
  default     = ""
  description = "Changes whenever the binary or script changes, so a rebuilt one is redeployed (scripts/run.sh passes a checksum)."
}

job "appointment" {
  datacenters = var.datacenters
  type        = "service"

  update {
    max_parallel     = 1
    health_check     = "task_states"
    min_healthy_time = "5s"
    healthy_deadline = "3m"
    auto_revert      = true
  }

  group "appointment" {
    count = var.instances

    network {
      port "http" {}
    }

    restart {
      attempts = 10
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    task "appointment" {
      driver = var.driver

      meta {
        revision = var.revision
      }

      dynamic "artifact" {
        for_each = var.artifact == "" ? [] : [var.artifact]
        content {
          source      = artifact.value
          destination = "local/"
        }
      }

      config {
        command = var.binary
      }

      env = merge({
        HTTP_ADDR        = "${NOMAD_ADDR_http}"
        CONSUL_HTTP_ADDR = var.consul_http_addr
        LOG_LEVEL        = var.log_level
        LOKI_PUSH_URL    = var.loki_push_url
        SERVICE_SECRET   = var.service_secret
        MYSQL_DSN        = var.mysql_dsn
        PUBLIC_BASE_URL  = var.public_base_url
      }, var.extra_env)

      # SIGTERM: the service deregisters from Consul, then drains (SHUTDOWN_TIMEOUT 15s).
      kill_signal  = "SIGTERM"
      kill_timeout = "20s"

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
