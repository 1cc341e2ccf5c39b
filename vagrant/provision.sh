#!/usr/bin/env bash
# Provisions one node of the Vagrant cluster: the pinned consul and nomad
# binaries (built on the host by tools/build.sh), Debian packages the jobs use,
# agent configs rendered from vagrant/config/ with the tokens of
# vagrant/tokens.sh, and systemd units. ACLs are on from the first start;
# vagrant/bootstrap-acl.sh (on the host, after `vagrant up`) creates the
# policies and tokens.
# Environment (from the Vagrantfile): NODE_NAME, NODE_IP, JOIN_IPS, and the
# tokens: GOSSIP_KEY, CONSUL_MANAGEMENT_TOKEN, CONSUL_AGENT_TOKEN, CONSUL_DNS_TOKEN,
# NOMAD_CONSUL_TOKEN.
set -euo pipefail

src=/hospital/src
bin=/hospital/bin

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# mariadb-server and postgresql-15 for the store jobs, docker for jobs/observability/.
apt-get install -y -qq --no-install-recommends curl jq mariadb-server postgresql-15 docker.io
for svc in mariadb postgresql; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true   # Nomad runs them
done

# Tokens generated on the host by vagrant/tokens.sh, passed in by the Vagrantfile.
for v in GOSSIP_KEY CONSUL_MANAGEMENT_TOKEN CONSUL_AGENT_TOKEN CONSUL_DNS_TOKEN NOMAD_CONSUL_TOKEN; do
  [[ -n ${!v:-} ]] || { echo "$v is not set: provision through the Vagrantfile (it runs vagrant/tokens.sh)" >&2; exit 1; }
done

for b in consul nomad ferretdb victoria-logs mailpit stripe-mock; do
  if [[ -x $bin/$b ]]; then
    install -m 0755 "$(readlink -f "$bin/$b")" "/usr/local/bin/$b"
  fi
done
command -v consul >/dev/null && command -v nomad >/dev/null \
  || { echo "consul/nomad missing: run tools/build.sh consul nomad on the host first" >&2; exit 1; }

id consul >/dev/null 2>&1 || useradd --system --home /opt/consul --shell /usr/sbin/nologin consul
mkdir -p /etc/consul.d /etc/nomad.d /opt/consul /opt/nomad/data /opt/hospital /opt/loki /opt/prometheus \
  /opt/hospital/mariadb /opt/hospital/postgresql
chown consul: /opt/consul

# "@JOIN@" (a quoted placeholder, so the templates stay valid HCL) -> "ip1", "ip2", "ip3"
join=$(printf '"%s", ' $JOIN_IPS)
join=${join%, }
render() {
  sed -e "s|@NODE_NAME@|$NODE_NAME|g" -e "s|@NODE_IP@|$NODE_IP|g" -e "s|\"@JOIN@\"|$join|g" \
    -e "s|@CONSUL_MANAGEMENT_TOKEN@|$CONSUL_MANAGEMENT_TOKEN|g" \
    -e "s|@CONSUL_AGENT_TOKEN@|$CONSUL_AGENT_TOKEN|g" \
    -e "s|@CONSUL_DNS_TOKEN@|$CONSUL_DNS_TOKEN|g" \
    -e "s|@NOMAD_CONSUL_TOKEN@|$NOMAD_CONSUL_TOKEN|g" "$1" >"$2"
}
umask 027
render "$src/vagrant/config/consul.hcl" /etc/consul.d/consul.hcl
render "$src/vagrant/config/nomad.hcl" /etc/nomad.d/nomad.hcl
# Gossip encryption key: the same on every node; generated once on the host.
printf 'encrypt = "%s"\n' "$GOSSIP_KEY" >/etc/consul.d/gossip.hcl
umask 022
chown root:consul /etc/consul.d/consul.hcl /etc/consul.d/gossip.hcl
chmod 0640 /etc/consul.d/consul.hcl /etc/consul.d/gossip.hcl /etc/nomad.d/nomad.hcl

install -m 0644 "$src/vagrant/config/consul.service" /etc/systemd/system/consul.service
install -m 0644 "$src/vagrant/config/nomad.service" /etc/systemd/system/nomad.service
systemctl daemon-reload
systemctl enable --now consul
systemctl enable --now nomad

# The binaries the job files refer to (binary = "/opt/hospital/bin/<name>"):
# the host's `make build` output and the pinned tools. The store scripts
# (jobs/scripts/) travel inside the jobs.
mkdir -p /opt/hospital/bin
if [[ -d $src/build/bin ]]; then
  cp -a "$src/build/bin/." /opt/hospital/bin/
fi
for b in ferretdb victoria-logs mailpit stripe-mock; do
  [[ -x /usr/local/bin/$b ]] && install -m 0755 "/usr/local/bin/$b" "/opt/hospital/bin/$b"
done
echo "provisioned $NODE_NAME ($NODE_IP)"
