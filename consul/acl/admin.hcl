# ACL policy of the admin service: register and deregister its own instances
# (service "admin" and its health check) through the local agent, and read the
# catalog to discover the services it calls.
#   consul acl policy create -name admin -rules @consul/acl/admin.hcl
#   consul acl token create -description "admin service" -policy-name admin
# The token goes to the service as CONSUL_HTTP_TOKEN.

service "admin" {
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
