# FerretDB (MongoDB wire protocol) on its PostgreSQL backend, for the
# Mongo-backed services: ehr, pharmacy, lab, notification. Each service
# uses its own database name (hospital_<name>, a PostgreSQL schema) in the one
# server. The data lives in PostgreSQL (jobs/postgresql.nomad.hcl).
#
# No credentials here: the PostgreSQL URL names no user, so every client
# authenticates (mongodb://ferretdb:<password>@.../?authMechanism=PLAIN) and
# FerretDB connects to PostgreSQL as that role. A client without the password
# reaches no data.
#
# Cluster: MongoDB 7 replaces this job and PostgreSQL's; the services only
# need MONGO_URI (in their Nomad Variable).

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "driver" {
  type    = string
  default = "exec"
}

variable "binary" {
  type        = string
  description = "Path of the ferretdb binary (tools/build.sh builds it)."
}

variable "postgresql_url" {
  type        = string
  default     = "postgres://127.0.0.1:5432/ferretdb?sslmode=disable&pool_max_conns=300"
  description = "The PostgreSQL database FerretDB keeps its data in; without user and password (the clients bring theirs). Loopback: no TLS. pool_max_conns must exceed the Mongo clients' pools together (25 per service instance, lib/mongodb.MaxPoolSize): FerretDB v1 deadlocks when more updates wait than its pool holds (docs/ARCHITECTURE.md); PostgreSQL's max_connections (jobs/scripts/postgresql.sh) must exceed it in turn."
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
  description = "On a cluster: the node (name) to run on; empty: any node."
}

variable "revision" {
  type        = string
  default     = ""
  description = "Changes whenever the binary changes, so a rebuilt one is redeployed (scripts/run.sh passes a checksum)."
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
      attempts = 20
      interval = "5m"
      delay    = "1s"
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
          "--listen-addr=$${NOMAD_ADDR_mongo}",
          "--handler=pg",
          "--postgresql-url=${var.postgresql_url}",
          "--debug-addr=$${NOMAD_ADDR_debug}",
          "--log-level=${var.log_level}",
        ]
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "20s"

      resources {
        cpu    = 200
        memory = 512
      }
    }
  }
}
