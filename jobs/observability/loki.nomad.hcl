# Loki: the central log store in production. Grafana Alloy (alloy.nomad.hcl)
# ships every allocation's stdout/stderr here; the services may also push
# directly (LOKI_PUSH_URL = http://loki.service.consul:3100/loki/api/v1/push).
# Locally VictoriaLogs (jobs/victorialogs.nomad.hcl) accepts the same push API.
#
# Single-binary Loki on a host volume "loki" (declare it in the client config:
#   client { host_volume "loki" { path = "/opt/loki" read_only = false } }).

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "image" {
  type    = string
  default = "grafana/loki:3.1.1"
}

variable "retention" {
  type    = string
  default = "744h"
}

job "loki" {
  datacenters = var.datacenters
  type        = "service"

  group "loki" {
    count = 1

    network {
      port "http" {
        static = 3100
      }
      port "grpc" {
        to = 9096
      }
    }

    volume "loki" {
      type      = "host"
      source    = "loki"
      read_only = false
    }

    service {
      name = "loki"
      port = "http"
      tags = ["logs"]

      check {
        name     = "loki-ready"
        type     = "http"
        path     = "/ready"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "loki" {
      driver = "docker"
      user   = "root"

      config {
        image = var.image
        ports = ["http", "grpc"]
        args  = ["-config.file=/local/loki.yaml"]
      }

      volume_mount {
        volume      = "loki"
        destination = "/loki"
      }

      template {
        destination = "local/loki.yaml"
        data        = <<-EOT
          auth_enabled: false
          server:
            http_listen_port: 3100
            grpc_listen_port: 9096
            log_format: json
          common:
            instance_addr: 127.0.0.1
            path_prefix: /loki
            replication_factor: 1
            ring:
              kvstore:
                store: inmemory
            storage:
              filesystem:
                chunks_directory: /loki/chunks
                rules_directory: /loki/rules
          schema_config:
            configs:
              - from: 2024-01-01
                store: tsdb
                object_store: filesystem
                schema: v13
                index:
                  prefix: index_
                  period: 24h
          limits_config:
            retention_period: ${var.retention}
            allow_structured_metadata: true
            # request_id and user_id are high-cardinality: structured metadata, not labels.
            max_label_names_per_series: 15
          compactor:
            working_directory: /loki/compactor
            retention_enabled: true
            delete_request_store: filesystem
          analytics:
            reporting_enabled: false
        EOT
      }

      resources {
        cpu    = 500
        memory = 1024
      }
    }
  }
}
