# ACL policy of the pharmacy service: register and deregister its own instances
# (service "pharmacy" and its health check) through the local agent, and read the
# catalog to discover the services it calls.
#   consul acl policy create -name pharmacy -rules @consul/acl/pharmacy.hcl
#   consul acl token create -description "pharmacy service" -policy-name pharmacy
# The token goes to the service as CONSUL_HTTP_TOKEN.

service "pharmacy" {
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
