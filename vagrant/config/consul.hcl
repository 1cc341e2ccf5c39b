# Consul server agent of the Vagrant cluster (rendered by provision.sh).
datacenter       = "dc1"
node_name        = "@NODE_NAME@"
data_dir         = "/opt/consul"
bind_addr        = "@NODE_IP@"
advertise_addr   = "@NODE_IP@"
client_addr      = "127.0.0.1 @NODE_IP@"
server           = true
bootstrap_expect = 3
retry_join       = ["@JOIN@"]

ui_config {
  enabled = true
}

ports {
  grpc = 8502
}

# Deny by default; each service gets a token of consul/acl/<name>.hcl.
# After the first start: consul acl bootstrap, then create the policies.
acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = true
}

performance {
  raft_multiplier = 1
}
