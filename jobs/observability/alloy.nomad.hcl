# Grafana Alloy on every Nomad client (system job): tails the stdout/stderr
# files of every allocation under the client's data dir and ships them to Loki
# (found in Consul), labelled with job, task, allocation and stream. The
# services' JSON lines are parsed: level and service become labels; request_id
# and user_id become structured metadata, so a request is found with
#   {service="gateway"} | request_id="<id>"
# without a label per request.

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "image" {
  type    = string
  default = "grafana/alloy:v1.3.1"
}

variable "nomad_data_dir" {
  type        = string
  default     = "/opt/nomad/data"
  description = "The clients' data_dir; allocation logs are under <data_dir>/alloc/<id>/alloc/logs."
}

job "alloy" {
  datacenters = var.datacenters
  type        = "system"

  group "alloy" {
    network {
      port "http" {
        to = 12345
      }
    }

    service {
      name = "alloy"
      port = "http"
      tags = ["logs", "agent"]

      check {
        name     = "alloy-ready"
        type     = "http"
        path     = "/-/ready"
        interval = "15s"
        timeout  = "3s"
      }
    }

    task "alloy" {
      driver = "docker"

      config {
        image = var.image
        ports = ["http"]
        args = [
          "run",
          "--server.http.listen-addr=0.0.0.0:12345",
          "--storage.path=/alloc/data/alloy",
          "/local/config.alloy",
        ]
        # Read-only view of every allocation's logs on this client.
        mount {
          type     = "bind"
          source   = "${var.nomad_data_dir}/alloc"
          target   = "/nomad/alloc"
          readonly = true
        }
      }

      template {
        destination   = "local/config.alloy"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        data          = <<-EOT
          local.file_match "nomad" {
            path_targets = [{"__path__" = "/nomad/alloc/*/alloc/logs/*.std*.[0-9]*"}]
            sync_period  = "10s"
          }

          discovery.relabel "nomad" {
            targets = local.file_match.nomad.targets

            rule {
              source_labels = ["__path__"]
              regex         = "/nomad/alloc/([^/]+)/alloc/logs/(.+)\\.(stdout|stderr)\\.[0-9]+"
              target_label  = "alloc_id"
              replacement   = "$1"
            }
            rule {
              source_labels = ["__path__"]
              regex         = "/nomad/alloc/([^/]+)/alloc/logs/(.+)\\.(stdout|stderr)\\.[0-9]+"
              target_label  = "task"
              replacement   = "$2"
            }
            rule {
              source_labels = ["__path__"]
              regex         = "/nomad/alloc/([^/]+)/alloc/logs/(.+)\\.(stdout|stderr)\\.[0-9]+"
              target_label  = "stream"
              replacement   = "$3"
            }
            rule {
              target_label = "node"
              replacement  = "{{ env "node.unique.name" }}"
            }
          }

          loki.source.file "nomad" {
            targets    = discovery.relabel.nomad.output
            forward_to = [loki.process.hospital.receiver]
          }

          loki.process "hospital" {
            // Lines that are not JSON (third-party stores) pass unchanged.
            stage.json {
              expressions = {
                level      = "level",
                service    = "service",
                request_id = "request_id",
                user_id    = "user_id",
              }
            }
            stage.labels {
              values = { level = "", service = "" }
            }
            stage.structured_metadata {
              values = { request_id = "", user_id = "" }
            }
            forward_to = [loki.write.loki.receiver]
          }

          loki.write "loki" {
            endpoint {
              url = "http://{{ range $i, $s := service "loki" }}{{ if eq $i 0 }}{{ $s.Address }}:{{ $s.Port }}{{ end }}{{ end }}/loki/api/v1/push"
            }
          }
        EOT
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
