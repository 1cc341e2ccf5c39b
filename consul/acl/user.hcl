# ACL policy of the user service: register and deregister its own instances
# (service "user" and its health check) through the local agent, and read the
# catalog to discover the services it calls.
#   consul acl policy create -name user -rules @consul/acl/user.hcl
#   consul acl token create -description "user service" -policy-name user
# The token goes to the service as CONSUL_HTTP_TOKEN.

service "user" {
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
