#!/usr/bin/env bash
# Bootstraps the ACLs of the cluster, once after `vagrant up` (safe to run
# again: what exists is kept, policies are brought up to date).
#
# Consul (the servers created the management token at their first election,
# from acl.tokens.initial_management):
#   1. policies from consul/acl/: agent, dns, nomad-agent, prometheus, and one
#      "service-<name>" per service of the Makefile's SERVICES (service.hcl);
#   2. the tokens the agents already hold (vagrant/tokens.sh made their
#      SecretIDs): consul-agent, consul-dns, nomad-consul;
#   3. one token per service, written as CONSUL_HTTP_TOKEN into the service's
#      Nomad Variable nomad/jobs/<name> (other items there are kept).
# Nomad:
#   4. `nomad acl bootstrap` with the management token of vagrant/tokens.sh;
#   5. the policies of jobs/acl/ (operator, readonly).
#
# Runs on the host with the pinned consul and nomad (tools/build.sh).
# Environment: CONSUL_HTTP_ADDR (default http://192.168.56.11:8500),
#   NOMAD_ADDR (default http://192.168.56.11:4646), TOKENS_DIR (default
#   vagrant/.vagrant/tokens), SERVICES (default: the Makefile's).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export PATH="${HOSPITAL_TOOLS_BIN:-$HOME/.cache/hospital/bin}:$PATH"
export CONSUL_HTTP_ADDR=${CONSUL_HTTP_ADDR:-http://192.168.56.11:8500}
export NOMAD_ADDR=${NOMAD_ADDR:-http://192.168.56.11:4646}
tokens=${TOKENS_DIR:-$here/.vagrant/tokens}
SERVICES=${SERVICES:-$(make -s --no-print-directory -C "$root" print-services)}

say() { echo "bootstrap-acl: $*"; }
die() { echo "bootstrap-acl: $*" >&2; exit 1; }
secret() { [[ -s $tokens/$1 ]] || die "missing $tokens/$1 (vagrant/tokens.sh makes it)"; tr -d '\n' <"$tokens/$1"; }

for cmd in consul nomad jq; do command -v "$cmd" >/dev/null || die "$cmd not found"; done

# ------------------------------------------------------------------ Consul
export CONSUL_HTTP_TOKEN
CONSUL_HTTP_TOKEN=$(secret consul-management)
deadline=$((SECONDS + 180))
until consul acl token read -self >/dev/null 2>&1; do
  ((SECONDS < deadline)) || die "Consul at $CONSUL_HTTP_ADDR does not accept the management token (cluster up? ACLs bootstrapped by the servers?)"
  sleep 2
done
say "Consul at $CONSUL_HTTP_ADDR: management token accepted"

# consul_policy NAME FILE: creates the policy, or updates its rules.
consul_policy() {
  if consul acl policy read -name "$1" >/dev/null 2>&1; then
    consul acl policy update -name "$1" -rules @"$2" >/dev/null
  else
    consul acl policy create -name "$1" -rules @"$2" >/dev/null
    say "consul policy $1 created"
  fi
}

# consul_token_with_secret DESCRIPTION SECRET POLICY: a token with that SecretID.
consul_token_with_secret() {
  if CONSUL_HTTP_TOKEN=$2 consul acl token read -self >/dev/null 2>&1; then
    return 0
  fi
  consul acl token create -description "$1" -secret "$2" -policy-name "$3" >/dev/null
  say "consul token \"$1\" created"
}

for p in agent dns nomad-agent prometheus; do
  consul_policy "$p" "$root/consul/acl/$p.hcl"
done
consul_token_with_secret "consul agents" "$(secret consul-agent)" agent
consul_token_with_secret "requests without a token (DNS)" "$(secret consul-dns)" dns
consul_token_with_secret "nomad agents" "$(secret nomad-consul)" nomad-agent

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for svc in $SERVICES; do
  [[ $svc =~ ^[a-z][a-z0-9-]*$ ]] || die "bad service name: $svc"
  sed "s/@SERVICE@/$svc/g" "$root/consul/acl/service.hcl" >"$work/$svc.hcl"
  consul_policy "service-$svc" "$work/$svc.hcl"
done

# ------------------------------------------------------------------ Nomad
export NOMAD_TOKEN
NOMAD_TOKEN=$(secret nomad-management)
deadline=$((SECONDS + 180))
until nomad acl token self >/dev/null 2>&1; do
  out=$(nomad acl bootstrap "$tokens/nomad-management" 2>&1) && { say "nomad ACLs bootstrapped"; continue; }
  ((SECONDS < deadline)) || die "Nomad at $NOMAD_ADDR: cannot bootstrap ACLs: $out"
  sleep 2
done
say "Nomad at $NOMAD_ADDR: management token accepted"

for f in "$root"/jobs/acl/*.hcl; do
  name=$(basename "$f" .hcl)
  nomad acl policy apply -description "hospital $name (jobs/acl/$name.hcl)" "$name" "$f" >/dev/null
done
say "nomad policies applied: $(cd "$root/jobs/acl" && ls -- *.hcl | sed 's/\.hcl$//' | paste -sd' ')"

# ------------------------------------------------------------------ service tokens
# The token of each service goes into its Nomad Variable, next to its other
# secrets; an existing valid one is kept.
for svc in $SERVICES; do
  path=nomad/jobs/$svc
  current=$(nomad var get -out=json "$path" 2>/dev/null || echo '{"Items": {}}')
  have=$(jq -r '.Items.CONSUL_HTTP_TOKEN // empty' <<<"$current")
  if [[ -n $have ]] && CONSUL_HTTP_TOKEN=$have consul acl token read -self >/dev/null 2>&1; then
    continue
  fi
  tok=$(consul acl token create -description "service $svc" -policy-name "service-$svc" -format=json | jq -r .SecretID)
  jq --arg p "$path" --arg t "$tok" '{Path: $p, Items: ((.Items // {}) + {CONSUL_HTTP_TOKEN: $t})}' <<<"$current" \
    | nomad var put -force -in=json - >/dev/null
  say "consul token of $svc created; in $path (CONSUL_HTTP_TOKEN)"
done

cat <<EOF
bootstrap-acl: done. To work with the cluster:
  export CONSUL_HTTP_ADDR=$CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN=\$(cat $tokens/consul-management)
  export NOMAD_ADDR=$NOMAD_ADDR NOMAD_TOKEN=\$(cat $tokens/nomad-management)
  nomad acl token create -name "<who>" -policy operator   # a token per operator
EOF
