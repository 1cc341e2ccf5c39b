# Prometheus: scrapes /metrics of every service instance found in Consul
# (consul_sd_configs: services tagged "hospital", which lib/service registers)
# and evaluates the alert rules below. Grafana (grafana.nomad.hcl) reads it.
#
# Storage on a host volume "prometheus" (client { host_volume "prometheus" { ... } }).
# With Consul ACLs, put the token of consul/acl/prometheus.hcl in the Nomad
# Variable nomad/jobs/prometheus (key consul_token).

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "image" {
  type    = string
  default = "prom/prometheus:v2.53.1"
}

variable "retention" {
  type    = string
  default = "15d"
}

job "prometheus" {
  datacenters = var.datacenters
  type        = "service"

  group "prometheus" {
    count = 1

    network {
      port "http" {
        static = 9090
      }
    }

    volume "prometheus" {
      type      = "host"
      source    = "prometheus"
      read_only = false
    }

    service {
      name = "prometheus"
      port = "http"
      tags = ["metrics"]

      check {
        name     = "prometheus-ready"
        type     = "http"
        path     = "/-/ready"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "prometheus" {
      driver = "docker"
      user   = "root"

      config {
        image = var.image
        ports = ["http"]
        args = [
          "--config.file=/local/prometheus.yml",
          "--storage.tsdb.path=/prometheus",
          "--storage.tsdb.retention.time=${var.retention}",
          "--web.enable-lifecycle",
        ]
      }

      volume_mount {
        volume      = "prometheus"
        destination = "/prometheus"
      }

      template {
        destination   = "local/prometheus.yml"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        data          = <<-EOT
          global:
            scrape_interval: 15s
            evaluation_interval: 15s
            external_labels:
              cluster: hospital

          rule_files:
            - /local/rules/*.yml

          scrape_configs:
            # Every hospital service instance (they register themselves with the tag "hospital").
            - job_name: hospital
              metrics_path: /metrics
              consul_sd_configs:
                - server: "{{ env "attr.unique.network.ip-address" }}:8500"
                  tags: ["hospital"]
          {{- if nomadVarExists "nomad/jobs/prometheus" }}{{ with nomadVar "nomad/jobs/prometheus" }}{{ if .consul_token }}
                  token: "{{ .consul_token }}"
          {{- end }}{{ end }}{{ end }}
              relabel_configs:
                # /metrics is on each instance's operator listener, whose
                # port the service advertises in its meta (ops_port), not on
                # its API port.
                - source_labels: [__meta_consul_service_address, __meta_consul_service_metadata_ops_port]
                  regex: (.+);(\d+)
                  replacement: $1:$2
                  target_label: __address__
                - source_labels: [__meta_consul_service]
                  target_label: service
                - source_labels: [__meta_consul_service_id]
                  target_label: instance
                - source_labels: [__meta_consul_node]
                  target_label: node

            # The Nomad agents' own telemetry (telemetry { prometheus_metrics = true }).
            - job_name: nomad
              metrics_path: /v1/metrics
              params:
                format: [prometheus]
              consul_sd_configs:
                - server: "{{ env "attr.unique.network.ip-address" }}:8500"
                  services: ["nomad-client", "nomad"]
              relabel_configs:
                - source_labels: [__meta_consul_tags]
                  regex: .*,http,.*
                  action: keep

            - job_name: prometheus
              static_configs:
                - targets: ["127.0.0.1:9090"]
        EOT
      }

      template {
        destination   = "local/rules/hospital.yml"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        # The rules use {{ $labels }} of Prometheus itself, so Nomad's template
        # engine gets other delimiters here.
        left_delimiter  = "[["
        right_delimiter = "]]"
        data            = <<-EOT
          groups:
            - name: hospital-services
              rules:
                - alert: ServiceInstanceDown
                  expr: up{job="hospital"} == 0
                  for: 2m
                  labels:
                    severity: critical
                  annotations:
                    summary: "{{ $labels.service }} instance {{ $labels.instance }} is down"

                - alert: ServiceMissing
                  expr: absent(up{job="hospital", service="gateway"}) or absent(up{job="hospital", service="user"})
                  for: 5m
                  labels:
                    severity: critical
                  annotations:
                    summary: "gateway or user service has no instance in Consul"

                - alert: HighErrorRate
                  expr: |
                    sum by (service) (rate(http_requests_total{job="hospital", code=~"5.."}[5m]))
                      / sum by (service) (rate(http_requests_total{job="hospital"}[5m])) > 0.05
                  for: 5m
                  labels:
                    severity: warning
                  annotations:
                    summary: "{{ $labels.service }}: more than 5% of requests fail with 5xx"

                - alert: HighLatencyP99
                  expr: |
                    histogram_quantile(0.99,
                      sum by (service, le) (rate(http_request_duration_seconds_bucket{job="hospital"}[5m]))) > 1
                  for: 10m
                  labels:
                    severity: warning
                  annotations:
                    summary: "{{ $labels.service }}: p99 latency above 1 s"

                - alert: TooManyInFlight
                  expr: sum by (service) (http_requests_in_flight{job="hospital"}) > 200
                  for: 5m
                  labels:
                    severity: warning
                  annotations:
                    summary: "{{ $labels.service }}: more than 200 requests in flight"

                # Side effects (notifications, invoices, EHR references) wait in
                # each service's outbox until the receiver accepts them.
                - alert: OutboxBacklogAging
                  expr: max by (service, target) (outbox_oldest_pending_age_seconds{job="hospital"}) > 900
                  for: 5m
                  labels:
                    severity: warning
                  annotations:
                    summary: "{{ $labels.service }}: calls to {{ $labels.target }} undelivered for over 15 minutes"

                - alert: OutboxMessagesRefused
                  expr: max by (service, target) (outbox_messages{job="hospital", status="FAILED"}) > 0
                  labels:
                    severity: critical
                  annotations:
                    summary: "{{ $labels.service }}: {{ $labels.target }} refused outbox messages; an operator must look (table outbox_messages)"

                - alert: CircuitBreakerOpen
                  expr: max by (service, target) ({__name__=~"(gateway_proxy_)?svcclient_breaker_state", job="hospital"}) == 2
                  for: 2m
                  labels:
                    severity: warning
                  annotations:
                    summary: "{{ $labels.service }}: circuit to {{ $labels.target }} open for 2 minutes"
        EOT
      }

      resources {
        cpu    = 500
        memory = 1024
      }
    }
  }
}
