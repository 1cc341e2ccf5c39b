#!/usr/bin/env bash
# Generates, once, the secrets the Vagrant cluster's agents start with, into
# vagrant/.vagrant/tokens/ (mode 700; vagrant/.vagrant is not committed):
#
#   gossip.key         Consul's gossip encryption key
#   consul-management  the Consul management token (acl.tokens.initial_management)
#   consul-agent       the Consul agents' token (consul/acl/agent.hcl)
#   consul-dns         the Consul default token for requests without one (consul/acl/dns.hcl)
#   nomad-consul       the Nomad agents' Consul token (consul/acl/nomad-agent.hcl)
#   nomad-management   the Nomad bootstrap (management) token
#
# provision.sh renders them into the agents' configs; bootstrap-acl.sh creates
# the Consul tokens with these SecretIDs and bootstraps Nomad with its own.
# Existing files are kept, so running it again changes nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$here/.vagrant/tokens
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

uuid() { cat /proc/sys/kernel/random/uuid; }
keep() { [[ -s $dir/$1 ]] || { printf '%s\n' "$2" >"$dir/$1"; echo "tokens: generated $1"; }; }

keep gossip.key "$(head -c 32 /dev/urandom | base64)"
for t in consul-management consul-agent consul-dns nomad-consul nomad-management; do
  keep "$t" "$(uuid)"
done
echo "tokens: in $dir (keep them; the cluster's ACLs are built on them)"
