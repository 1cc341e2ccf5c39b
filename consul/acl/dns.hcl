# ACL policy of the agents' default token (acl.tokens.default): what a request
# without a token may see. Only what DNS lookups such as
# mariadb.service.consul need; nothing can be written.

node_prefix "" {
  policy = "read"
}

service_prefix "" {
  policy = "read"
}

query_prefix "" {
  policy = "read"
}
