# MariaDB (MySQL-compatible) for the MySQL-backed services (user, appointment,
# billing, admin). One database and one user per service, created at start-up by
# scripts/mariadb.sh (idempotent; embedded in the job when it is submitted). The
# data directory is kept between runs.
#
# Secrets come from the Nomad Variable nomad/jobs/mariadb, items
#   MARIADB_ROOT_PASSWORD  the root password
#   MARIADB_DATABASES      comma list db=password; each db gets a user of the same name
# (scripts/run.sh writes them; on a cluster: `nomad var put`, see vagrant/README.md).
#
# Local (`make run`): raw_exec, Debian's mariadbd, data under $STATE_DIR/mariadb.
# Cluster: exec, pinned to the node with the host volume "mariadb" (data_dir is
# where it is mounted), or a managed MySQL 8 instead of this job.

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "driver" {
  type    = string
  default = "exec"
}

variable "scripts_dir" {
  type        = string
  default     = "jobs/scripts"
  description = "Where mariadb.sh is read from when the job is submitted (relative to the working directory, or absolute)."
}

variable "data_dir" {
  type        = string
  description = "Kept between runs: data/ and the socket live here (inside the task: the host volume's mount point)."
}

variable "host_volume" {
  type        = string
  default     = ""
  description = "On a cluster: the Nomad host volume holding the data, mounted at data_dir; empty: data_dir is a host path (raw_exec)."
}

variable "port" {
  type    = number
  default = 3306
}

variable "bind_address" {
  type        = string
  default     = "127.0.0.1"
  description = "Where MariaDB listens; on a cluster the node address, with the port firewalled to the cluster's nodes."
}

variable "node" {
  type        = string
  default     = ""
  description = "On a cluster: the node (name) that keeps this store's data; empty: any node."
}

variable "revision" {
  type        = string
  default     = ""
  description = "Changes whenever mariadbd changes, so an upgraded one is restarted (scripts/run.sh passes a checksum)."
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

    dynamic "volume" {
      for_each = var.host_volume == "" ? [] : [var.host_volume]
      labels   = ["data"]
      content {
        type   = "host"
        source = volume.value
      }
    }

    restart {
      attempts = 10
      interval = "5m"
      delay    = "2s"
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

      dynamic "volume_mount" {
        for_each = var.host_volume == "" ? [] : [var.data_dir]
        content {
          volume      = "data"
          destination = volume_mount.value
        }
      }

      template {
        destination = "local/mariadb.sh"
        perms       = "0755"
        data        = file("${var.scripts_dir}/mariadb.sh")
        # The script is shell, not a template.
        left_delimiter  = "[[=["
        right_delimiter = "]=]]"
      }

      template {
        destination = "secrets/mariadb.env"
        perms       = "0600"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{- with nomadVar "nomad/jobs/mariadb" }}{{ range $k, $v := . }}
          {{ $k }}={{ $v | toJSON }}
          {{- end }}{{ end }}
        EOT
      }

      config {
        command = "local/mariadb.sh"
      }

      env {
        MARIADB_DIR          = var.data_dir
        MARIADB_PORT         = var.port
        MARIADB_BIND_ADDRESS = var.bind_address
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
