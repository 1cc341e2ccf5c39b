#!/usr/bin/env bash
# Runs `go test` in every module of go.work (lib, svc/*, e2e), one module after
# the other, and prints a summary. Called by `make test`, which first builds
# the tools the tests start (each module: go test -count=1 -p 2 -timeout 20m -v ./...).
#
# Full output of each module goes to build/test-logs/<module>.log; the console
# shows package results, failures and test log lines. Exits non-zero when any
# module fails. Environment: TEST_TIMEOUT (20m), TEST_PARALLEL (2), TEST_RUN
# (a -run pattern), HOSPITAL_TOOLS_BIN (exported and put on PATH for the tests,
# with PostgreSQL 15's bin directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export HOSPITAL_TOOLS_BIN=${HOSPITAL_TOOLS_BIN:-$HOME/.cache/hospital/bin}
# Debian keeps PostgreSQL 15's initdb and pg_ctl off PATH; the tests start
# their own throwaway PostgreSQL clusters for FerretDB.
export PATH="$HOSPITAL_TOOLS_BIN:$PATH:/usr/lib/postgresql/15/bin:/usr/sbin:/sbin"
timeout=${TEST_TIMEOUT:-20m}
parallel=${TEST_PARALLEL:-2}

# The modules, from go.work (paths relative to the root).
modules=()
if [[ -f go.work ]]; then
  while IFS= read -r dir; do
    dir=${dir#./}
    modules+=("${dir%/}")
  done < <(go work edit -json | jq -r '.Use[].DiskPath')
else
  echo "test: no go.work; testing every module found under lib/, svc/ and e2e/" >&2
  export GOWORK=off
  for d in lib svc/* e2e; do [[ -f $d/go.mod ]] && modules+=("$d"); done
fi
((${#modules[@]} > 0)) || { echo "test: no Go modules found" >&2; exit 1; }

logdir=$root/build/test-logs
mkdir -p "$logdir"

declare -A result=()
total_pass=0 total_fail=0 total_skip=0 failed_modules=()
start=$SECONDS

for m in "${modules[@]}"; do
  log=$logdir/$(echo "$m" | tr '/' '_').log
  echo "=== $m"
  if [[ ! -f $m/go.mod ]]; then
    echo "FAIL $m: listed in go.work but $m/go.mod does not exist"
    failed_modules+=("$m")
    result[$m]="FAIL (no go.mod)"
    total_fail=$((total_fail + 1))
    continue
  fi
  rc=0
  args=(-count=1 -p "$parallel" -timeout "$timeout" -v)
  [[ -n ${TEST_RUN:-} ]] && args+=(-run "$TEST_RUN")
  # Console: package results, failures, panics and the tests' own log lines.
  set +e
  (cd "$m" && go test "${args[@]}" ./...) 2>&1 | tee "$log" \
    | grep --line-buffered -E '^(ok|FAIL|panic:|--- FAIL|#)|^[[:space:]]+--- FAIL|^[[:space:]]+[A-Za-z0-9_]+\.go:[0-9]+:|^[a-z].*\.go:[0-9]+:[0-9]+:'
  st=("${PIPESTATUS[@]}")
  set -e
  rc=${st[0]}
  pass=$(grep -cE '^[[:space:]]*--- PASS' "$log" || true)
  fail=$(grep -cE '^[[:space:]]*--- FAIL' "$log" || true)
  skip=$(grep -cE '^[[:space:]]*--- SKIP' "$log" || true)
  if [[ $rc -ne 0 ]]; then
    # Build failures, panics and timeouts do not always print a --- FAIL line.
    if ((fail == 0)); then
      fail=1
      echo "--- $m: go test exited $rc; last lines of ${log#"$root"/}:"
      tail -n 25 "$log" | sed 's/^/    /'
    fi
    failed_modules+=("$m")
    result[$m]="FAIL ($fail failed, $pass passed; log: ${log#"$root"/})"
  else
    result[$m]="ok   ($pass passed, $skip skipped)"
  fi
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  total_skip=$((total_skip + skip))
done

echo
echo "=== summary ($((SECONDS - start))s)"
for m in "${modules[@]}"; do
  printf '  %-24s %s\n' "$m" "${result[$m]}"
done
((${#failed_modules[@]} == 0)) || echo "FAILED: ${failed_modules[*]}"
echo "tests: $total_pass passed, $total_fail failed, $total_skip skipped"
((${#failed_modules[@]} == 0))
