# Nomad server + client of the Vagrant cluster (rendered by provision.sh).
datacenter = "dc1"
name       = "@NODE_NAME@"
data_dir   = "/opt/nomad/data"
bind_addr  = "0.0.0.0"

advertise {
  http = "@NODE_IP@"
  rpc  = "@NODE_IP@"
  serf = "@NODE_IP@"
}

server {
  enabled          = true
  bootstrap_expect = 3

  server_join {
    retry_join = ["@JOIN@"]
  }
}

client {
  enabled           = true
  network_interface = "eth1"

  # Stores keep their data here (jobs/observability/ use these volumes).
  host_volume "loki" {
    path      = "/opt/loki"
    read_only = false
  }
  host_volume "prometheus" {
    path      = "/opt/prometheus"
    read_only = false
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

plugin "docker" {
  config {
    volumes {
      enabled = true
    }
  }
}

consul {
  address = "127.0.0.1:8500"
  # token = "<token of consul/acl/nomad-agent.hcl>"
}

telemetry {
  prometheus_metrics         = true
  publish_allocation_metrics = true
  publish_node_metrics       = true
}
