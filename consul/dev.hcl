# Consul dev agent for `make run`: one in-memory server on the loopback interface.
# scripts/run.sh starts it as
#   consul agent -dev -config-file=consul/dev.hcl
# Services register themselves with this agent (HTTP API on 127.0.0.1:8500);
# Nomad registers the stores (mariadb, ferretdb, victorialogs, mailpit).
# Production agents: see vagrant/ (servers and clients) and consul/acl/.

datacenter     = "dc1"
bind_addr      = "127.0.0.1"
advertise_addr = "127.0.0.1"
client_addr    = "127.0.0.1"

ports {
  http = 8500
  grpc = 8502
  dns  = 8600
}

ui_config {
  enabled = true
}

log_level = "INFO"

# Script checks stay off; every check here is HTTP or TCP.
enable_script_checks       = false
enable_local_script_checks = false
