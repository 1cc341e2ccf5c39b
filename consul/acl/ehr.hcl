# ACL policy of the ehr service: register and deregister its own instances
# (service "ehr" and its health check) through the local agent, and read the
# catalog to discover the services it calls.
#   consul acl policy create -name ehr -rules @consul/acl/ehr.hcl
#   consul acl token create -description "ehr service" -policy-name ehr
# The token goes to the service as CONSUL_HTTP_TOKEN.

service "ehr" {
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
