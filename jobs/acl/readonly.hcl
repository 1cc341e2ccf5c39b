# Nomad ACL policy for looking without touching (on-call, dashboards): job and
# allocation status and logs, nodes; no variables, so no secrets.
#   nomad acl token create -name "<who>" -policy readonly

namespace "default" {
  policy       = "read"
  capabilities = ["read-logs"]
}

node {
  policy = "read"
}

agent {
  policy = "read"
}
