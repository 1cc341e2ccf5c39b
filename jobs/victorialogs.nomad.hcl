# VictoriaLogs: the central log sink for local runs. Every service pushes its
# JSON log lines here through the Loki push API (LOKI_PUSH_URL =
# http://127.0.0.1:9428/insert/loki/api/v1/push); query them in the web UI at
# /select/vmui/ or with LogsQL at /select/logsql/query.
#
# Cluster: Loki + Grafana + Alloy (jobs/observability/) take this role; the
# services' LOKI_PUSH_URL then points at Loki.

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
  description = "Path of the victoria-logs binary (tools/build.sh builds it)."
}

variable "data_dir" {
  type = string
}

variable "port" {
  type    = number
  default = 9428
}

variable "retention" {
  type    = string
  default = "7d"
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

job "victorialogs" {
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

  group "victorialogs" {
    network {
      port "http" {
        static = var.port
      }
    }

    restart {
      attempts = 5
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    service {
      name         = "victorialogs"
      port         = "http"
      provider     = "consul"
      address_mode = "host"
      tags         = ["logs"]

      check {
        name     = "victorialogs-health"
        type     = "http"
        path     = "/health"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "victorialogs" {
      driver = var.driver

      meta {
        revision = var.revision
      }

      config {
        command = var.binary
        args = [
          "-storageDataPath=${var.data_dir}",
          "-httpListenAddr=${NOMAD_ADDR_http}",
          "-retentionPeriod=${var.retention}",
          "-loggerFormat=json",
        ]
      }

      resources {
        cpu    = 200
        memory = 512
      }
    }
  }
}
