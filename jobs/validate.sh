#!/usr/bin/env bash
# Checks every Nomad job file of jobs/ without running it (part of `make test`):
#
#  - `nomad job validate` on each store job, each jobs/observability/ job, and
#    the service shape once per jobs/services/<name>.hcl, with the variables
#    `make run` passes (raw_exec, local paths, 2 instances) and with those of a
#    cluster (exec, artifact or host volume, 3 instances);
#  - each service's job is named after it, and sets no environment variable
#    that looks like a secret (secrets come from Nomad Variables);
#  - every service of the Makefile's SERVICES has jobs/services/<name>.hcl, and
#    every jobs/services/<name>.hcl has svc/<name>/.
#
# Validation is local (no agent is contacted), so it runs beside `make run`.
# usage: jobs/validate.sh   env: HOSPITAL_TOOLS_BIN (where nomad is)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="${HOSPITAL_TOOLS_BIN:-$HOME/.cache/hospital/bin}:$PATH"
command -v nomad >/dev/null || { echo "validate: nomad not found: run 'make tools'" >&2; exit 1; }
# An address nothing listens on: nomad validates locally instead of asking an agent.
export NOMAD_ADDR=http://127.0.0.1:1

passed=0 failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# check WHAT FILE ARGS...: nomad job validate FILE with ARGS.
check() {
  local what=$1 file=$2 out
  shift 2
  if out=$(nomad job validate "$@" "$file" 2>&1) && grep -q 'Job validation successful' <<<"$out"; then
    passed=$((passed + 1))
  else
    fail "$what: nomad job validate $* $file"
    sed 's/^/    /' <<<"$out"
  fi
}

scripts=(-var "scripts_dir=$root/jobs/scripts")
local_=(-var driver=raw_exec -var revision=0123456789abcdef)
for store in mariadb postgresql; do
  f=jobs/$store.nomad.hcl
  check "$store (local)" "$f" "${local_[@]}" "${scripts[@]}" -var "data_dir=/tmp/hospital-state/$store"
  check "$store (cluster)" "$f" -var driver=exec -var "host_volume=$store" -var "data_dir=/srv/$store" \
    -var node=hospital-1 -var bind_address=0.0.0.0 \
    $([[ $store == postgresql ]] && echo "-var allow_cidrs=192.168.56.0/24")
done
check "ferretdb (local)" jobs/ferretdb.nomad.hcl "${local_[@]}" -var binary=/opt/hospital/bin/ferretdb
check "ferretdb (cluster)" jobs/ferretdb.nomad.hcl -var driver=exec -var binary=/opt/hospital/bin/ferretdb \
  -var postgresql_url=postgres://postgresql.service.consul:5432/ferretdb -var node=hospital-2
for job in victorialogs mailpit; do
  check "$job (local)" "jobs/$job.nomad.hcl" "${local_[@]}" -var binary=/x -var "data_dir=/tmp/hospital-state/$job"
done
check "stripe-mock (local)" jobs/stripe-mock.nomad.hcl "${local_[@]}" -var binary=/x
for f in jobs/observability/*.nomad.hcl; do
  check "observability/$(basename "$f" .nomad.hcl)" "$f"
done

# The service shape, once per service file.
for vf in jobs/services/*.hcl; do
  name=$(basename "$vf" .hcl)
  [[ -d svc/$name ]] || fail "jobs/services/$name.hcl: there is no svc/$name/"
  check "$name (local)" jobs/service.nomad.hcl -var-file="$vf" "${local_[@]}" -var binary="/x/$name" \
    -var instances=2 -var 'extra_env={LOG_FORMAT="json"}'
  check "$name (cluster)" jobs/service.nomad.hcl -var-file="$vf" -var driver=exec \
    -var "artifact=https://artifacts.example.org/hospital/$name.tar.gz" -var instances=3 \
    -var 'ops_addr=${NOMAD_IP_http}:0' -var consul_http_addr=127.0.0.1:8500

  if ! spec=$(nomad job run -output -var-file="$vf" jobs/service.nomad.hcl 2>&1); then
    fail "$name: nomad job run -output"
    sed 's/^/    /' <<<"$spec"
    continue
  fi
  id=$(jq -r '.Job.ID' <<<"$spec")
  [[ $id == "$name" ]] || fail "jobs/services/$name.hcl makes the job \"$id\"; name must be \"$name\""
  leaked=$(jq -r '.Job.TaskGroups[].Tasks[].Env // {} | to_entries[]
    | select(.key | test("PASSWORD|SECRET|TOKEN|_DSN$|CLIENTS$|_KEY$")) | select(.value != "") | .key' <<<"$spec")
  [[ -z $leaked ]] || fail "jobs/services/$name.hcl puts secrets in the job (use its Nomad Variable): $leaked"
done

# Every service make run deploys has its settings file.
for name in $(make -s --no-print-directory -C "$root" print-services); do
  [[ -f jobs/services/$name.hcl ]] || fail "SERVICES lists $name, but jobs/services/$name.hcl is missing"
done

echo "jobs: $passed validated, $failed failed"
((failed == 0))
