# The appointment service: doctor schedules, availability, booking, the
# appointment lifecycle and reminders. MySQL (hospital_appointment database).
#
# The service registers itself in Consul (ID appointment-<host>-<port>, HTTP
# check on /healthz/ready) and deregisters on SIGTERM, so this job has no
# `service` block. Several instances may run: bookings are serialised by the
# database, the reminder scheduler elects one leader through a Consul lock.
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

variable "mysql_dsn" {
  type        = string
  description = "go-sql-driver DSN of the hospital_appointment database."
}

variable "service_secret" {
  type        = string
  description = "This service's client secret for service tokens (the user service's SERVICE_CLIENTS holds appointment=<secret>)."
}

variable "clinic_timezone" {
  type    = string
  default = "Asia/Ho_Chi_Minh"
}

variable "consultation_fee" {
  type        = string
  default     = "150000.00"
  description = "Amount billed for a completed appointment (decimal)."
}

variable "reminder_before" {
  type        = string
  default     = "24h"
  description = "How long before a CONFIRMED appointment its reminders are sent."
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
        MYSQL_DSN        = var.mysql_dsn
        SERVICE_SECRET   = var.service_secret
        CLINIC_TIMEZONE  = var.clinic_timezone
        CONSULTATION_FEE = var.consultation_fee
        REMINDER_BEFORE  = var.reminder_before
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
