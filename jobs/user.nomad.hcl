# The user service: accounts, roles and permissions, JWT issuing (JWKS), service
# tokens. MySQL (hospital_user database).
#
# The service registers itself in Consul (ID user-<host>-<port>, HTTP check on
# /healthz/ready) and deregisters on SIGTERM, so this job has no `service` block.
#
# Local: raw_exec runs build/bin/user. Cluster: set driver = "exec" and
# artifact to a URL of the binary (binary then names it inside the task dir,
# e.g. "local/user"); put the secrets in Nomad Variables or Vault rather than -var.

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
  description = "Path of the user binary (build/bin/user locally)."
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
  description = "go-sql-driver DSN of the hospital_user database."
}

variable "jwt_key_file" {
  type        = string
  description = "Ed25519 private key (PEM) used to sign JWTs; must survive restarts."
}

variable "jwt_generate_key" {
  type        = bool
  default     = false
  description = "Generate jwt_key_file when it is missing (development only)."
}

variable "service_clients" {
  type        = string
  default     = ""
  description = "Comma list name=secret of the services allowed to obtain service tokens."
}

variable "bootstrap_admin_username" {
  type    = string
  default = ""
}

variable "bootstrap_admin_password" {
  type    = string
  default = ""
}

variable "bootstrap_admin_email" {
  type    = string
  default = ""
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

job "user" {
  datacenters = var.datacenters
  type        = "service"

  update {
    max_parallel     = 1
    health_check     = "task_states"
    min_healthy_time = "5s"
    healthy_deadline = "3m"
    auto_revert      = true
  }

  group "user" {
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

    task "user" {
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
        HTTP_ADDR                = "${NOMAD_ADDR_http}"
        CONSUL_HTTP_ADDR         = var.consul_http_addr
        LOG_LEVEL                = var.log_level
        LOKI_PUSH_URL            = var.loki_push_url
        MYSQL_DSN                = var.mysql_dsn
        JWT_KEY_FILE             = var.jwt_key_file
        JWT_GENERATE_KEY         = var.jwt_generate_key ? "true" : "false"
        SERVICE_CLIENTS          = var.service_clients
        BOOTSTRAP_ADMIN_USERNAME = var.bootstrap_admin_username
        BOOTSTRAP_ADMIN_PASSWORD = var.bootstrap_admin_password
        BOOTSTRAP_ADMIN_EMAIL    = var.bootstrap_admin_email
        PUBLIC_BASE_URL          = var.public_base_url
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
