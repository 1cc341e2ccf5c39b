# stripe-mock: Stripe's official mock of its API, standing in for Stripe in
# local runs. The billing service's Stripe client points its backend URL at
# http://127.0.0.1:12111 with a test-mode key (make run generates one into
# the billing service's Nomad Variable, never into a job). Stateless: it
# checks each request against Stripe's OpenAPI document and answers fixtures.
#
# Local only: a cluster talks to Stripe itself (the billing service's
# STRIPE_API_BASE left at its default, the secret key in its Nomad Variable).

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
  description = "Path of the stripe-mock binary (tools/build.sh builds it)."
}

variable "http_port" {
  type    = number
  default = 12111
}

variable "revision" {
  type        = string
  default     = ""
  description = "Changes whenever the binary changes, so a rebuilt one is redeployed (scripts/run.sh passes a checksum)."
}

job "stripe-mock" {
  datacenters = var.datacenters
  type        = "service"

  update {
    max_parallel     = 1
    health_check     = "checks"
    min_healthy_time = "3s"
    healthy_deadline = "3m"
    auto_revert      = false
  }

  group "stripe-mock" {
    network {
      port "http" {
        static = var.http_port
      }
      # stripe-mock always serves HTTPS too (a self-signed certificate);
      # given an address, it stays on loopback instead of every interface.
      port "https" {}
    }

    restart {
      attempts = 20
      interval = "5m"
      delay    = "1s"
      mode     = "delay"
    }

    service {
      name         = "stripe-mock"
      port         = "http"
      provider     = "consul"
      address_mode = "host"
      tags         = ["payments", "mock"]

      # It listens once it has loaded Stripe's OpenAPI document. (An HTTP
      # check would need a key in the job; the tests make authenticated calls.)
      check {
        name     = "stripe-mock-tcp"
        type     = "tcp"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "stripe-mock" {
      driver = var.driver

      meta {
        revision = var.revision
      }

      config {
        command = var.binary
        args    = ["-http-addr", "$${NOMAD_ADDR_http}", "-https-addr", "$${NOMAD_ADDR_https}"]
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
