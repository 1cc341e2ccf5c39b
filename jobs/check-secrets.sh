#!/usr/bin/env bash
# Fails when a secret of the running platform can be read from a job
# specification: for every job the Nomad agent knows, `nomad job inspect` (the
# job as submitted: env, args, meta, templates) and the job's stored submission
# (its source and -var flags) must not contain any value of $STATE_DIR/secrets.env
# whose name says it is a secret (*PASSWORD*, *SECRET*). Secrets belong in
# Nomad Variables, rendered by `template` blocks inside the allocation.
#
# usage: jobs/check-secrets.sh   (after `make run`; .ci/run calls it)
# env:   STATE_DIR, NOMAD_ADDR (default http://127.0.0.1:4646), NOMAD_TOKEN on a cluster
set -euo pipefail
export PATH="${HOSPITAL_TOOLS_BIN:-$HOME/.cache/hospital/bin}:$PATH"
STATE_DIR=${STATE_DIR:-$HOME/.local/state/hospital}
export NOMAD_ADDR=${NOMAD_ADDR:-http://127.0.0.1:4646}
secrets_file=$STATE_DIR/secrets.env

[[ -r $secrets_file ]] || { echo "check-secrets: $secrets_file not found (run make run first)" >&2; exit 1; }

# name<TAB>value of every secret; too short a value would match by chance.
mapfile -t secrets < <(grep -E '^[A-Z0-9_]*(PASSWORD|SECRET)[A-Z0-9_]*=' "$secrets_file" \
  | awk -F= '{ v = substr($0, length($1) + 2); if (length(v) >= 8) print $1 "\t" v }')
((${#secrets[@]} > 0)) || { echo "check-secrets: no secrets in $secrets_file" >&2; exit 1; }

curl_nomad() { curl -fsS --max-time 10 ${NOMAD_TOKEN:+-H "X-Nomad-Token: $NOMAD_TOKEN"} "$NOMAD_ADDR$1"; }

mapfile -t jobs < <(curl_nomad /v1/jobs | jq -r '.[].ID')
((${#jobs[@]} > 0)) || { echo "check-secrets: no jobs on $NOMAD_ADDR" >&2; exit 1; }

found=0
for job in "${jobs[@]}"; do
  spec=$(nomad job inspect "$job")
  version=$(jq -r '.Job.Version' <<<"$spec")
  # Nomad 1.6 keeps the submitted source and -var flags; 404 when none was kept.
  submission=$(curl_nomad "/v1/job/$job/submission?version=$version" 2>/dev/null || true)
  for entry in "${secrets[@]}"; do
    name=${entry%%$'\t'*}
    value=${entry#*$'\t'}
    if grep -qF -- "$value" <<<"$spec"; then
      echo "FAIL job $job: nomad job inspect shows the value of $name"
      found=$((found + 1))
    fi
    if [[ -n $submission ]] && grep -qF -- "$value" <<<"$submission"; then
      echo "FAIL job $job: its stored submission (source or -var flags) holds the value of $name"
      found=$((found + 1))
    fi
  done
done

if ((found > 0)); then
  echo "secrets: $found found in ${#jobs[@]} job specifications (move them to the job's Nomad Variable)"
  exit 1
fi
echo "secrets: none of ${#secrets[@]} secrets in the ${#jobs[@]} job specifications (nomad job inspect and submissions)"
