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

# Closed by default: every request needs a token. The tokens below are
# generated on the host by vagrant/tokens.sh before `vagrant up`; the servers
# create the management token at the first election, and
# vagrant/bootstrap-acl.sh then creates the policies (consul/acl/) and the
# tokens with these SecretIDs, so the agents hold valid tokens from the start.
acl {
  enabled                  = true
  default_policy           = "deny"
  down_policy              = "extend-cache"
  enable_token_persistence = true

  tokens {
    initial_management = "@CONSUL_MANAGEMENT_TOKEN@"
    agent              = "@CONSUL_AGENT_TOKEN@"
    # Requests without a token (DNS lookups) get consul/acl/dns.hcl: read only.
    default = "@CONSUL_DNS_TOKEN@"
  }
}

performance {
  raft_multiplier = 1
}
