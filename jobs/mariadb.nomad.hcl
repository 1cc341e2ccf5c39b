# MariaDB (MySQL-compatible) for the MySQL-backed services: user, appointment,
# billing, admin. One database and one user per service, created at start-up by
# scripts/mariadb.sh (idempotent). The data directory is kept between runs.
#
# Local (`make run`): raw_exec, Debian's mariadbd, data under $STATE_DIR/mariadb.
# Cluster: pin the group to a node with a host volume (or use a managed MySQL 8)
# and set data_dir to that volume; keep passwords in Nomad Variables or Vault
# instead of -var (they are visible in the job spec).

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "driver" {
  type    = string
  default = "raw_exec"
}

variable "scripts_dir" {
  type        = string
  description = "Directory holding mariadb.sh (jobs/scripts in this repository)."
}

variable "data_dir" {
  type        = string
  description = "Kept between runs: data/ and the socket live here."
}

variable "port" {
  type    = number
  default = 3306
}

variable "bind_address" {
  type    = string
  default = "127.0.0.1"
}

variable "root_password" {
  type = string
}

variable "databases" {
  type        = string
  description = "Comma list db=password; each database gets a user of the same name, e.g. hospital_user=secret,hospital_billing=secret2."
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

job "mariadb" {
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

  group "mariadb" {
    count = 1

    network {
      port "db" {
        static = var.port
      }
    }

    restart {
      attempts = 5
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    # Nomad registers the store in Consul (visible in the Consul UI).
    service {
      name         = "mariadb"
      port         = "db"
      provider     = "consul"
      address_mode = "host"
      tags         = ["store", "mysql"]

      check {
        name     = "mariadb-tcp"
        type     = "tcp"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "mariadb" {
      driver = var.driver

      meta {
        revision = var.revision
      }

      config {
        command = "${var.scripts_dir}/mariadb.sh"
      }

      env {
        MARIADB_DIR           = var.data_dir
        MARIADB_PORT          = var.port
        MARIADB_BIND_ADDRESS  = var.bind_address
        MARIADB_ROOT_PASSWORD = var.root_password
        MARIADB_DATABASES     = var.databases
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "60s"

      resources {
        cpu    = 300
        memory = 512
      }
    }
  }
}
