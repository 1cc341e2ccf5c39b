# The notification service: templates, delivery (email via SMTP, SMS, push) and logs.
# Store: MongoDB (FerretDB locally); email through SMTP_ADDR (Mailpit locally).
#
# The service registers itself in Consul (ID notification-<host>-<port>, HTTP check on
# /healthz/ready) and deregisters on SIGTERM, so this job has no `service` block.
#
# Local: raw_exec runs build/bin/notification. Cluster: set driver = "exec" and
# artifact to a URL of the binary (binary then names it inside the task dir,
# e.g. "local/notification"); put the secrets in Nomad Variables or Vault rather than -var.

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
  description = "Path of the notification binary (build/bin/notification locally)."
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
  description = "The service's client secret for service tokens (matches notification=... in the user service's SERVICE_CLIENTS)."
}

variable "mongo_uri" {
  type    = string
  default = "mongodb://127.0.0.1:27017/"
}

variable "smtp_addr" {
  type        = string
  default     = "127.0.0.1:1025"
  description = "host:port of the SMTP server (Mailpit locally)."
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

job "notification" {
  datacenters = var.datacenters
  type        = "service"

  update {
    max_parallel     = 1
    health_check     = "task_states"
    min_healthy_time = "5s"
    healthy_deadline = "3m"
    auto_revert      = true
  }

  group "notification" {
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

    task "notification" {
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
        MONGO_URI        = var.mongo_uri
        SMTP_ADDR        = var.smtp_addr
        PUBLIC_BASE_URL  = var.public_base_url
      }, var.extra_env)

      # SIGTERM: the service deregisters from Consul, drains requests
      # (SHUTDOWN_TIMEOUT 15s), then lets in-flight sends finish (SEND_TIMEOUT 20s).
      kill_signal  = "SIGTERM"
      kill_timeout = "45s"

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
