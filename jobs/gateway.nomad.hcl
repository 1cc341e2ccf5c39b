# The API gateway: the only entry point for clients (static port 8080). Builds
# its routes from what the services advertise in Consul, verifies JWTs with the
# user service's JWKS, and forwards with retries and circuit breakers.
#
# The gateway registers itself in Consul (no `service` block here).
# Cluster: driver = "exec", artifact = URL of the binary, binary = "local/gateway",
# and a load balancer in front of every node's port 8080.

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
  description = "Path of the gateway binary (build/bin/gateway locally)."
}

variable "artifact" {
  type    = string
  default = ""
}

variable "http_port" {
  type    = number
  default = 8080
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
  type    = string
  default = ""
}

variable "service_secret" {
  type        = string
  description = "The gateway's client secret for service tokens (matches gateway=... in the user service's SERVICE_CLIENTS)."
}

variable "cors_allowed_origins" {
  type    = string
  default = ""
}

variable "extra_env" {
  type    = map(string)
  default = {}
}

variable "revision" {
  type        = string
  default     = ""
  description = "Changes whenever the binary or script changes, so a rebuilt one is redeployed (scripts/run.sh passes a checksum)."
}

job "gateway" {
  datacenters = var.datacenters
  type        = "service"

  update {
    max_parallel     = 1
    health_check     = "task_states"
    min_healthy_time = "5s"
    healthy_deadline = "3m"
    auto_revert      = true
  }

  group "gateway" {
    count = var.instances

    network {
      port "http" {
        static = var.http_port
      }
    }

    restart {
      attempts = 10
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    task "gateway" {
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
        HTTP_ADDR            = "${NOMAD_ADDR_http}"
        CONSUL_HTTP_ADDR     = var.consul_http_addr
        LOG_LEVEL            = var.log_level
        LOKI_PUSH_URL        = var.loki_push_url
        SERVICE_SECRET       = var.service_secret
        CORS_ALLOWED_ORIGINS = var.cors_allowed_origins
      }, var.extra_env)

      kill_signal  = "SIGTERM"
      kill_timeout = "20s"

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
