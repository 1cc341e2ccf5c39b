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
#   instance for a job (e.g. appointment's reminder leader);
# - read the platform's live configuration under service/admin/config/
#   (lib/settings), which the admin service alone writes: for admin the
#   rule on service/@SERVICE@/config/ names that same prefix, and Consul
#   gives two rules on one prefix the stronger policy (write); for any other
#   service it is a part of its own prefix again;
# - read the token revocations under service/user/revocations/ (lib/auth,
#   DefaultRevocationPrefix), which the user service alone writes, the same
#   way: Consul applies the longest matching prefix, so the read rule alone
#   would take the user service's write away on that subtree, and the rule
#   on service/@SERVICE@/revocations/ gives it back (for any other service
#   it is a part of its own prefix). A service that cannot read the
#   revocations accepts revoked tokens: Consul leaves the keys a token may
#   not read out of a list instead of refusing it.
#
# lib/settings/acl_test.go tests this file against a Consul agent with ACLs
# on and deny by default.

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

key_prefix "service/admin/config/" {
  policy = "read"
}

key_prefix "service/@SERVICE@/config/" {
  policy = "write"
}

key_prefix "service/user/revocations/" {
  policy = "read"
}

key_prefix "service/@SERVICE@/revocations/" {
  policy = "write"
}

session_prefix "" {
  policy = "write"
}
