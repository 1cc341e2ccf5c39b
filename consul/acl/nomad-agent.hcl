# ACL policy of the Nomad agents: register the services of jobs that declare a
# `service` block (the stores and the observability jobs) and read the catalog
# for templates. The app services register themselves with their own tokens.
#   consul acl policy create -name nomad-agent -rules @consul/acl/nomad-agent.hcl
#   consul acl token create -description "nomad agent" -policy-name nomad-agent
# The token goes in the Nomad agent's consul { token = "..." } block.

agent_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

service_prefix "" {
  policy = "write"
}

key_prefix "" {
  policy = "read"
}
