# ACL policy of the Consul agents themselves (acl.tokens.agent in their
# config): register their node and run the anti-entropy sync of the services
# registered with them.

node_prefix "" {
  policy = "write"
}

service_prefix "" {
  policy = "read"
}
