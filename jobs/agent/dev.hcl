# Nomad dev agent for `make run`: one server+client in memory on the loopback
# interface, running tasks with the raw_exec driver (plain processes as the
# agent's user). This is the only agent where raw_exec is enabled; the
# cluster's agents (vagrant/config/nomad.hcl) allow exec and docker only, with
# ACLs on. The dev agent has no ACLs: it listens on 127.0.0.1 only. scripts/run.sh starts it as
#   nomad agent -dev -config=jobs/agent/dev.hcl -data-dir=$STATE_DIR/nomad
# (the data dir only holds allocation directories and task logs in dev mode).
# Production agents: see vagrant/.

bind_addr = "127.0.0.1"

ports {
  http = 4646
  rpc  = 4647
  serf = 4648
}

advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}

client {
  enabled           = true
  network_interface = "lo"

  # Only raw_exec is used locally; skipping the other drivers keeps
  # fingerprinting quiet on machines without Docker, Java or QEMU.
  options = {
    "driver.allowlist" = "raw_exec"
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

# Nomad registers the store jobs' `service` blocks in the local Consul agent.
consul {
  address = "127.0.0.1:8500"
}

log_level = "INFO"

# No update checks or usage reporting from a developer's machine.
disable_update_check = true
