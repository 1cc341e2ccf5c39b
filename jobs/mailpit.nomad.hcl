# Mailpit: an SMTP sink with a web UI and API, standing in for the email
# provider locally. The notification service sends to SMTP_ADDR
# (127.0.0.1:1025); read the mail at http://127.0.0.1:8025. It keeps the newest
# max_messages (100,000: a load run's worth). Local only: a cluster sends
# through a real SMTP provider.

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "driver" {
  type        = string
  default     = "exec"
  description = "The local dev agent passes raw_exec (the only place it is enabled)."
}

variable "binary" {
  type        = string
  description = "Path of the mailpit binary (tools/build.sh builds it)."
}

variable "data_dir" {
  type = string
}

variable "max_messages" {
  type        = number
  default     = 100000
  description = "Mailpit keeps the newest this many messages (--max; 0: no limit). Enough for the platform's load runs: about 5 minutes at 300 emails/s."
}

variable "http_port" {
  type    = number
  default = 8025
}

variable "smtp_port" {
  type    = number
  default = 1025
}

variable "node" {
  type        = string
  default     = ""
  description = "On a cluster: the node (name) that keeps this store's data; empty: any node."
}

variable "revision" {
  type        = string
  default     = ""
  description = "Changes whenever the binary or script changes, so a rebuilt one is redeployed (scripts/run.sh passes a checksum)."
}

job "mailpit" {
  datacenters = var.datacenters
  type        = "service"

  dynamic "constraint" {
    for_each = var.node == "" ? [] : [var.node]
    content {
      attribute = "$${node.unique.name}"
      value     = constraint.value
    }
  }

  update {
    max_parallel     = 1
    health_check     = "checks"
    min_healthy_time = "3s"
    healthy_deadline = "3m"
    auto_revert      = false
  }

  group "mailpit" {
    network {
      port "http" {
        static = var.http_port
      }
      port "smtp" {
        static = var.smtp_port
      }
    }

    restart {
      attempts = 5
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    service {
      name         = "mailpit"
      port         = "http"
      provider     = "consul"
      address_mode = "host"
      tags         = ["mail", "ui"]

      check {
        name     = "mailpit-ready"
        type     = "http"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"
      }
    }

    service {
      name         = "mailpit-smtp"
      port         = "smtp"
      provider     = "consul"
      address_mode = "host"
      tags         = ["mail", "smtp"]

      check {
        name     = "mailpit-smtp-tcp"
        type     = "tcp"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "mailpit" {
      driver = var.driver

      meta {
        revision = var.revision
      }

      config {
        command = var.binary
        args = [
          "--listen=${NOMAD_ADDR_http}",
          "--smtp=${NOMAD_ADDR_smtp}",
          "--database=${var.data_dir}/mailpit.db",
          "--max=${var.max_messages}",
          "--smtp-auth-accept-any",
          "--smtp-auth-allow-insecure",
          "--disable-version-check",
        ]
      }

      resources {
        cpu    = 100
        memory = 256
      }
    }
  }
}
