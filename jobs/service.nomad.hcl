# The job shape of every app service of the platform (user, notification,
# appointment, ehr, billing, pharmacy, lab, admin, gateway, and each new one). One file, deployed once per service:
#
#   nomad job run -var-file=jobs/services/<name>.hcl -var binary=... jobs/service.nomad.hcl
#
# jobs/services/<name>.hcl holds what differs between services: the name, its
# own settings (env), the stores it uses, a static port, a longer drain. What
# differs between machines (binary path or artifact URL, driver, addresses,
# instance count) comes from -var at deploy time: scripts/run.sh passes the
# local values, a cluster its own (vagrant/README.md).
#
# Secrets are never in this file or in -var: a template reads the Nomad Variable
# nomad/jobs/<name> (which the job's own workload identity may read) and every
# item of it becomes an environment variable of the task (MYSQL_DSN, MONGO_URI,
# SERVICE_SECRET, CONSUL_HTTP_TOKEN, ...). `nomad job inspect` shows none of them.
#
# The service registers itself in Consul (ID <name>-<host>-<port>, HTTP check on
# /healthz/ready) and deregisters on SIGTERM before draining, so there is no
# `service` block here.

variable "name" {
  type        = string
  description = "The service: its Consul name, the job ID, svc/<name>/ in the repository."
}

variable "stores" {
  type        = list(string)
  default     = []
  description = "Stores the service uses (mysql, mongo). The deploying side provisions a database and puts MYSQL_DSN / MONGO_URI into the job's Nomad Variable."
}

variable "env" {
  type        = map(string)
  default     = {}
  description = "The service's own settings (not secrets), from jobs/services/<name>.hcl."
}

variable "extra_env" {
  type        = map(string)
  default     = {}
  description = "Settings of this deployment (not secrets), merged last: paths of this machine, a cluster's addresses."
}

variable "http_port" {
  type        = number
  default     = 0
  description = "Static port of the HTTP listener (the gateway's 8080); 0: Nomad picks one and the service advertises it in Consul."
}

variable "ops_addr" {
  type        = string
  default     = "127.0.0.1:0"
  description = "OPS_ADDR: the operators' listener (metrics, health). Nomad interpolates it, e.g. \"$${NOMAD_IP_http}:0\" on a cluster."
}

variable "instances" {
  type    = number
  default = 1
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "driver" {
  type        = string
  default     = "exec"
  description = "exec on a cluster; the local dev agent uses raw_exec (the only place it is enabled)."
}

variable "binary" {
  type        = string
  default     = ""
  description = "Path of the service's binary; empty: local/<name>, where the artifact is unpacked."
}

variable "artifact" {
  type        = string
  default     = ""
  description = "go-getter URL the client downloads into local/ before starting (cluster)."
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

variable "public_base_url" {
  type        = string
  default     = "http://127.0.0.1:8080"
  description = "The address clients use (links in emails, pagination)."
}

variable "shutdown_timeout" {
  type        = number
  default     = 15
  description = "Seconds the service drains in-flight requests after SIGTERM (SHUTDOWN_TIMEOUT)."
}

variable "kill_margin" {
  type        = number
  default     = 10
  description = "Seconds Nomad waits beyond shutdown_timeout before SIGKILL (work that outlives the drain, e.g. a send in flight)."
}

variable "cpu" {
  type    = number
  default = 200
}

variable "memory" {
  type    = number
  default = 256
}

variable "revision" {
  type        = string
  default     = ""
  description = "Changes whenever the binary changes, so a rebuilt one is redeployed (scripts/run.sh passes a checksum)."
}

locals {
  binary = var.binary != "" ? var.binary : "local/${var.name}"
}

job "service" {
  # The job's ID and name come from the variable, so the one file serves
  # every service (and the Nomad Variable nomad/jobs/<name> belongs to it).
  id          = var.name
  name        = var.name
  datacenters = var.datacenters
  type        = "service"

  meta {
    stores = join(",", var.stores)
  }

  update {
    max_parallel     = 1
    health_check     = "task_states"
    min_healthy_time = "5s"
    healthy_deadline = "3m"
    auto_revert      = true
  }

  dynamic "group" {
    for_each = [var.name]
    labels   = [group.value]

    content {
      count = var.instances

      network {
        port "http" {
          static = var.http_port
        }
      }

      # A crashed service is back in about a second (delay plus up to 25%
      # jitter); 20 attempts in 5 minutes before Nomad waits out the interval.
      restart {
        attempts = 20
        interval = "5m"
        delay    = "1s"
        mode     = "delay"
      }

      dynamic "task" {
        for_each = [var.name]
        labels   = [task.value]

        content {
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
            command = local.binary
          }

          env = merge({
            HTTP_ADDR        = "$${NOMAD_ADDR_http}"
            OPS_ADDR         = var.ops_addr
            CONSUL_HTTP_ADDR = var.consul_http_addr
            LOG_LEVEL        = var.log_level
            LOKI_PUSH_URL    = var.loki_push_url
            PUBLIC_BASE_URL  = var.public_base_url
            SHUTDOWN_TIMEOUT = "${var.shutdown_timeout}s"
          }, var.env, var.extra_env)

          # Every item of the job's Nomad Variable, as KEY="value" lines
          # (JSON-quoted; Nomad's env parser reads the escapes).
          template {
            destination = "secrets/service.env"
            perms       = "0600"
            env         = true
            change_mode = "restart"
            data        = <<-EOT
              {{- with nomadVar "nomad/jobs/${var.name}" }}{{ range $k, $v := . }}
              {{ $k }}={{ $v | toJSON }}
              {{- end }}{{ end }}
            EOT
          }

          # SIGTERM: the service deregisters from Consul, then drains.
          kill_signal  = "SIGTERM"
          kill_timeout = "${var.shutdown_timeout + var.kill_margin}s"

          resources {
            cpu    = var.cpu
            memory = var.memory
          }
        }
      }
    }
  }
}
