# ACL policy of Prometheus (jobs/observability/prometheus.nomad.hcl):
# consul_sd_configs only reads the catalog and the health of instances.

service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

agent_prefix "" {
  policy = "read"
}
