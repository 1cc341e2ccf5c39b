#!/usr/bin/env bash
# Provisions one node of the Vagrant cluster: the pinned consul and nomad
# binaries (built on the host by tools/build.sh), Debian packages the jobs use,
# agent configs rendered from vagrant/config/, and systemd units.
# Environment (from the Vagrantfile): NODE_NAME, NODE_IP, JOIN_IPS.
set -euo pipefail

src=/hospital/src
bin=/hospital/bin

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# mariadb-server for jobs/mariadb.nomad.hcl, docker for jobs/observability/.
apt-get install -y -qq --no-install-recommends curl jq mariadb-server docker.io
systemctl disable --now mariadb >/dev/null 2>&1 || true   # Nomad runs it

for b in consul nomad ferretdb victoria-logs mailpit; do
  if [[ -x $bin/$b ]]; then
    install -m 0755 "$(readlink -f "$bin/$b")" "/usr/local/bin/$b"
  fi
done
command -v consul >/dev/null && command -v nomad >/dev/null \
  || { echo "consul/nomad missing: run tools/build.sh consul nomad on the host first" >&2; exit 1; }

id consul >/dev/null 2>&1 || useradd --system --home /opt/consul --shell /usr/sbin/nologin consul
mkdir -p /etc/consul.d /etc/nomad.d /opt/consul /opt/nomad/data /opt/hospital /opt/loki /opt/prometheus
chown consul: /opt/consul

# "@JOIN@" (a quoted placeholder, so the templates stay valid HCL) -> "ip1", "ip2", "ip3"
join=$(printf '"%s", ' $JOIN_IPS)
join=${join%, }
render() {
  sed -e "s|@NODE_NAME@|$NODE_NAME|g" -e "s|@NODE_IP@|$NODE_IP|g" -e "s|\"@JOIN@\"|$join|g" "$1" >"$2"
}
render "$src/vagrant/config/consul.hcl" /etc/consul.d/consul.hcl
render "$src/vagrant/config/nomad.hcl" /etc/nomad.d/nomad.hcl
# Gossip encryption key: the same on every node; generated once on the host.
if [[ -f $src/vagrant/.vagrant/gossip.key ]]; then
  printf 'encrypt = "%s"\n' "$(cat "$src/vagrant/.vagrant/gossip.key")" >/etc/consul.d/gossip.hcl
fi

install -m 0644 "$src/vagrant/config/consul.service" /etc/systemd/system/consul.service
install -m 0644 "$src/vagrant/config/nomad.service" /etc/systemd/system/nomad.service
systemctl daemon-reload
systemctl enable --now consul
systemctl enable --now nomad

# The service scripts and binaries the job files refer to (binary and scripts_dir
# variables): jobs/scripts and the host's `make build` output.
mkdir -p /opt/hospital/scripts /opt/hospital/bin
cp -a "$src/jobs/scripts/." /opt/hospital/scripts/
if [[ -d $src/build/bin ]]; then
  cp -a "$src/build/bin/." /opt/hospital/bin/
fi
for b in ferretdb victoria-logs mailpit; do
  [[ -x /usr/local/bin/$b ]] && ln -sf "/usr/local/bin/$b" "/opt/hospital/bin/$b"
done
echo "provisioned $NODE_NAME ($NODE_IP)"
