# FerretDB (MongoDB wire protocol) on its SQLite backend for the Mongo-backed
# services: ehr, pharmacy, lab, notification, admin. Each service uses its own
# database name in the one server (mongodb://127.0.0.1:27017/).
#
# Cluster: MongoDB 7 replaces this job; the services only need MONGO_URI.

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "driver" {
  type    = string
  default = "raw_exec"
}

variable "binary" {
  type        = string
  description = "Path of the ferretdb binary (tools/build.sh builds it)."
}

variable "data_dir" {
  type        = string
  description = "SQLite files, kept between runs."
}

variable "port" {
  type    = number
  default = 27017
}

variable "log_level" {
  type    = string
  default = "info"
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

job "ferretdb" {
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

  group "ferretdb" {
    network {
      port "mongo" {
        static = var.port
      }
      port "debug" {}
    }

    restart {
      attempts = 5
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    service {
      name         = "ferretdb"
      port         = "mongo"
      provider     = "consul"
      address_mode = "host"
      tags         = ["store", "mongodb"]

      check {
        name     = "ferretdb-tcp"
        type     = "tcp"
        interval = "5s"
        timeout  = "2s"
      }

      check {
        name     = "ferretdb-ready"
        type     = "http"
        port     = "debug"
        path     = "/debug/readyz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "ferretdb" {
      driver = var.driver

      meta {
        revision = var.revision
      }

      config {
        command = var.binary
        args = [
          "--listen-addr=${NOMAD_ADDR_mongo}",
          "--handler=sqlite",
          "--sqlite-url=file:${var.data_dir}/",
          "--debug-addr=${NOMAD_ADDR_debug}",
          "--log-level=${var.log_level}",
        ]
      }

      resources {
        cpu    = 200
        memory = 512
      }
    }
  }
}
