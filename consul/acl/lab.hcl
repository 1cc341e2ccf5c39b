# ACL policy of the lab service: register and deregister its own instances
# (service "lab" and its health check) through the local agent, and read the
# catalog to discover the services it calls.
#   consul acl policy create -name lab -rules @consul/acl/lab.hcl
#   consul acl token create -description "lab service" -policy-name lab
# The token goes to the service as CONSUL_HTTP_TOKEN.

service "lab" {
  policy = "write"
}

service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

agent_prefix "" {
  policy = "read"
}
