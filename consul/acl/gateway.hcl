# ACL policy of the API gateway: register its own instances, and read every
# service (with its meta, where the services advertise their routes) and the
# health of their instances to build the routing table.
#   consul acl policy create -name gateway -rules @consul/acl/gateway.hcl
#   consul acl token create -description "gateway" -policy-name gateway

service "gateway" {
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
