# ACL policy of the appointment service: register and deregister its own instances
# (service "appointment" and its health check) through the local agent, and read the
# catalog to discover the services it calls.
#   consul acl policy create -name appointment -rules @consul/acl/appointment.hcl
#   consul acl token create -description "appointment service" -policy-name appointment
# The token goes to the service as CONSUL_HTTP_TOKEN.

service "appointment" {
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
