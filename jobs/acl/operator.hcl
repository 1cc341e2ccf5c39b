# Nomad ACL policy of the platform's operators: deploy and stop jobs, read
# their logs, and manage the Nomad Variables that hold the jobs' secrets
# (nomad/jobs/<job>). vagrant/bootstrap-acl.sh applies it:
#   nomad acl policy apply -description "hospital operators" operator jobs/acl/operator.hcl
# and an operator's token is then made with
#   nomad acl token create -name "<who>" -policy operator

namespace "default" {
  policy = "write"

  variables {
    path "nomad/jobs/*" {
      capabilities = ["write", "read", "destroy", "list"]
    }
  }
}

node {
  policy = "read"
}

agent {
  policy = "read"
}

operator {
  policy = "read"
}
