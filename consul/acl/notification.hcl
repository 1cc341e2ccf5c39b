# ACL policy of the notification service: register and deregister its own instances
# (service "notification" and its health check) through the local agent, and read the
# catalog to discover the services it calls.
#   consul acl policy create -name notification -rules @consul/acl/notification.hcl
#   consul acl token create -description "notification service" -policy-name notification
# The token goes to the service as CONSUL_HTTP_TOKEN.

service "notification" {
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
