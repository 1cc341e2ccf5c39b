# Grafana: dashboards over Prometheus (metrics) and Loki (logs), both found in
# Consul. Provisioned from this file: the two datasources and the "Hospital
# services" dashboard (request rate, errors, latency per service, and the logs
# of a request ID). The admin password comes from the Nomad Variable
# nomad/jobs/grafana (key admin_password).

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "image" {
  type    = string
  default = "grafana/grafana-oss:11.1.3"
}

job "grafana" {
  datacenters = var.datacenters
  type        = "service"

  group "grafana" {
    count = 1

    network {
      port "http" {
        static = 3000
      }
    }

    service {
      name = "grafana"
      port = "http"
      tags = ["ui"]

      check {
        name     = "grafana-health"
        type     = "http"
        path     = "/api/health"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "grafana" {
      driver = "docker"

      config {
        image = var.image
        ports = ["http"]
      }

      env {
        GF_PATHS_PROVISIONING          = "/local/provisioning"
        GF_AUTH_ANONYMOUS_ENABLED      = "false"
        GF_ANALYTICS_REPORTING_ENABLED = "false"
        GF_ANALYTICS_CHECK_FOR_UPDATES = "false"
      }

      template {
        destination = "secrets/grafana.env"
        env         = true
        data        = <<-EOT
          {{- if nomadVarExists "nomad/jobs/grafana" }}{{ with nomadVar "nomad/jobs/grafana" }}
          GF_SECURITY_ADMIN_PASSWORD={{ .admin_password }}
          {{- end }}{{ end }}
        EOT
      }

      template {
        destination = "local/provisioning/datasources/hospital.yaml"
        data        = <<-EOT
          apiVersion: 1
          datasources:
            - name: Prometheus
              uid: prometheus
              type: prometheus
              access: proxy
              isDefault: true
              url: http://{{ range $i, $s := service "prometheus" }}{{ if eq $i 0 }}{{ $s.Address }}:{{ $s.Port }}{{ end }}{{ end }}
            - name: Loki
              uid: loki
              type: loki
              access: proxy
              url: http://{{ range $i, $s := service "loki" }}{{ if eq $i 0 }}{{ $s.Address }}:{{ $s.Port }}{{ end }}{{ end }}
              jsonData:
                maxLines: 1000
        EOT
      }

      template {
        destination = "local/provisioning/dashboards/hospital.yaml"
        data        = <<-EOT
          apiVersion: 1
          providers:
            - name: hospital
              folder: Hospital
              type: file
              options:
                path: /local/dashboards
        EOT
      }

      template {
        destination = "local/dashboards/hospital-services.json"
        # Grafana's legend templates use {{ }}, so Nomad's engine gets other delimiters.
        left_delimiter  = "[["
        right_delimiter = "]]"
        data            = <<-EOT
          {
            "uid": "hospital-services",
            "title": "Hospital services",
            "timezone": "utc",
            "refresh": "30s",
            "time": { "from": "now-1h", "to": "now" },
            "templating": {
              "list": [
                {
                  "name": "request_id",
                  "label": "request_id",
                  "type": "textbox",
                  "query": ""
                }
              ]
            },
            "panels": [
              {
                "id": 1, "type": "timeseries", "title": "Requests per second",
                "datasource": { "type": "prometheus", "uid": "prometheus" },
                "gridPos": { "x": 0, "y": 0, "w": 12, "h": 8 },
                "targets": [{ "refId": "A", "expr": "sum by (service) (rate(http_requests_total{job=\"hospital\"}[1m]))", "legendFormat": "{{service}}" }]
              },
              {
                "id": 2, "type": "timeseries", "title": "5xx ratio",
                "datasource": { "type": "prometheus", "uid": "prometheus" },
                "gridPos": { "x": 12, "y": 0, "w": 12, "h": 8 },
                "fieldConfig": { "defaults": { "unit": "percentunit" } },
                "targets": [{ "refId": "A", "expr": "sum by (service) (rate(http_requests_total{job=\"hospital\",code=~\"5..\"}[5m])) / sum by (service) (rate(http_requests_total{job=\"hospital\"}[5m]))", "legendFormat": "{{service}}" }]
              },
              {
                "id": 3, "type": "timeseries", "title": "Latency p50 / p99",
                "datasource": { "type": "prometheus", "uid": "prometheus" },
                "gridPos": { "x": 0, "y": 8, "w": 12, "h": 8 },
                "fieldConfig": { "defaults": { "unit": "s" } },
                "targets": [
                  { "refId": "A", "expr": "histogram_quantile(0.5, sum by (service, le) (rate(http_request_duration_seconds_bucket{job=\"hospital\"}[5m])))", "legendFormat": "{{service}} p50" },
                  { "refId": "B", "expr": "histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{job=\"hospital\"}[5m])))", "legendFormat": "{{service}} p99" }
                ]
              },
              {
                "id": 4, "type": "stat", "title": "Instances up",
                "datasource": { "type": "prometheus", "uid": "prometheus" },
                "gridPos": { "x": 12, "y": 8, "w": 12, "h": 8 },
                "targets": [{ "refId": "A", "expr": "sum by (service) (up{job=\"hospital\"})", "legendFormat": "{{service}}" }]
              },
              {
                "id": 5, "type": "logs", "title": "Logs of request_id",
                "datasource": { "type": "loki", "uid": "loki" },
                "gridPos": { "x": 0, "y": 16, "w": 24, "h": 12 },
                "targets": [{ "refId": "A", "expr": "{service=~\".+\"} | request_id=\"$request_id\"" }]
              }
            ],
            "schemaVersion": 39
          }
        EOT
      }

      resources {
        cpu    = 300
        memory = 512
      }
    }
  }
}
