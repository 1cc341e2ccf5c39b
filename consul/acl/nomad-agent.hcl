# ACL policy of the Nomad agents: register the services of jobs that declare a
# `service` block (the stores and the observability jobs) and read the catalog
# for templates. The app services register themselves with their own tokens.
# vagrant/bootstrap-acl.sh creates the policy and a token with the SecretID the
# agents already have in their consul { token = "..." } block (vagrant/config/nomad.hcl).

agent_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

service_prefix "" {
  policy = "write"
}

key_prefix "" {
  policy = "read"
}
