# PostgreSQL 15, the backend of FerretDB (the MongoDB stand-in). One role and
# one database it owns per entry of PG_DATABASES (locally: "ferretdb"), created
# at start-up by scripts/postgresql.sh (idempotent; embedded in the job when it
# is submitted). Every connection needs a password (SCRAM), socket included.
# The data directory is kept between runs.
#
# Secrets come from the Nomad Variable nomad/jobs/postgresql, items
#   PG_SUPERUSER_PASSWORD  the password of the superuser "postgres"
#   PG_DATABASES           comma list name=password
# (scripts/run.sh writes them; on a cluster: `nomad var put`, see vagrant/README.md).
#
# Local (`make run`): raw_exec, Debian's postgresql-15, data under $STATE_DIR/postgresql.
# Cluster: exec, pinned to the node with the host volume "postgresql".

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
  description = "Where postgresql.sh is read from when the job is submitted (relative to the working directory, or absolute)."
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
  default = 5432
}

variable "bind_address" {
  type        = string
  default     = "127.0.0.1"
  description = "Where PostgreSQL listens; on a cluster the node address (and allow_cidrs the nodes' network)."
}

variable "allow_cidrs" {
  type        = string
  default     = ""
  description = "Comma list of networks besides loopback that may connect (with a password), e.g. 192.168.56.0/24."
}

variable "node" {
  type        = string
  default     = ""
  description = "On a cluster: the node (name) that keeps this store's data; empty: any node."
}

variable "revision" {
  type        = string
  default     = ""
  description = "Changes whenever postgres changes, so an upgraded one is restarted (scripts/run.sh passes a checksum)."
}

job "postgresql" {
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

  group "postgresql" {
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

    service {
      name         = "postgresql"
      port         = "db"
      provider     = "consul"
      address_mode = "host"
      tags         = ["store", "postgresql"]

      check {
        name     = "postgresql-tcp"
        type     = "tcp"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "postgresql" {
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
        destination = "local/postgresql.sh"
        perms       = "0755"
        data        = file("${var.scripts_dir}/postgresql.sh")
        # The script is shell, not a template.
        left_delimiter  = "[[=["
        right_delimiter = "]=]]"
      }

      template {
        destination = "secrets/postgresql.env"
        perms       = "0600"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{- with nomadVar "nomad/jobs/postgresql" }}{{ range $k, $v := . }}
          {{ $k }}={{ $v | toJSON }}
          {{- end }}{{ end }}
        EOT
      }

      config {
        command = "local/postgresql.sh"
      }

      env {
        PG_DIR          = var.data_dir
        PG_PORT         = var.port
        PG_BIND_ADDRESS = var.bind_address
        PG_ALLOW_CIDRS  = var.allow_cidrs
      }

      # SIGINT is PostgreSQL's fast shutdown: it ends open sessions (FerretDB
      # keeps a pool) and writes a checkpoint, instead of waiting for clients.
      kill_signal  = "SIGINT"
      kill_timeout = "60s"

      resources {
        cpu    = 300
        memory = 512
      }
    }
  }
}
