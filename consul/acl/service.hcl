# ACL policy of one app service, the same shape for every service (the gateway
# included): vagrant/bootstrap-acl.sh creates a policy "<name>" from this file
# with @SERVICE@ replaced by the service's name, and a token with it that the
# service reads as CONSUL_HTTP_TOKEN (from its Nomad Variable nomad/jobs/<name>).
#
# - register and deregister its own instances (ID <name>-<host>-<port>) and
#   their health checks through the local agent;
# - read the catalog and health of every service: discovery, and the gateway's
#   routing table (built from the services' meta);
# - its own KV prefix service/<name>/ and sessions: locks that elect one
#   instance for a job (e.g. appointment's reminder leader).

service "@SERVICE@" {
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

key_prefix "service/@SERVICE@/" {
  policy = "write"
}

session_prefix "" {
  policy = "write"
}
