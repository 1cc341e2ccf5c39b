# ACL policy of the billing service: register and deregister its own instances
# (service "billing" and its health check) through the local agent, and read the
# catalog to discover the services it calls.
#   consul acl policy create -name billing -rules @consul/acl/billing.hcl
#   consul acl token create -description "billing service" -policy-name billing
# The token goes to the service as CONSUL_HTTP_TOKEN.

service "billing" {
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
