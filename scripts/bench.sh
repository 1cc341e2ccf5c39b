#!/usr/bin/env bash
# Runs the Go micro-benchmarks of every module and the load run of e2e
# (GET /api/v1/users/me/ straight at the user service and through the gateway,
# same machine, same run), and writes the figures to docs/BENCHMARKS.md with
# the commands that produced them. Called by `make bench`.
#
# Environment: LOAD_DURATION (10s per path), LOAD_WORKERS (32), BENCHTIME (1s).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export HOSPITAL_TOOLS_BIN=${HOSPITAL_TOOLS_BIN:-$HOME/.cache/hospital/bin}
# Debian keeps PostgreSQL 15's initdb and pg_ctl off PATH; the benchmarks start
# their own throwaway PostgreSQL clusters for FerretDB.
export PATH="$HOSPITAL_TOOLS_BIN:$PATH:/usr/lib/postgresql/15/bin:/usr/sbin:/sbin"
export LOAD_DURATION=${LOAD_DURATION:-10s}
export LOAD_WORKERS=${LOAD_WORKERS:-32}
benchtime=${BENCHTIME:-1s}

out=$root/docs/BENCHMARKS.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

micro=$work/micro.txt
: >"$micro"
modules=()
while IFS= read -r dir; do modules+=("${dir#./}"); done < <(go work edit -json | jq -r '.Use[].DiskPath')
for m in "${modules[@]}"; do
  [[ $m == e2e ]] && continue
  echo "=== bench $m"
  (cd "$m" && go test -count=1 -p 1 -run '^$' -bench . -benchmem -benchtime "$benchtime" ./...) 2>&1 \
    | tee -a "$micro" | grep -E '^(Benchmark|ok|FAIL|---)' || true
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "bench: $m failed" >&2; exit 1; }
done

echo "=== load run ($LOAD_WORKERS workers, $LOAD_DURATION per path)"
load=$work/load.md
(cd e2e && LOAD_REPORT=$load go test -count=1 -run '^$' -bench BenchmarkLoadMe -benchtime 1x -timeout 10m ./) \
  | tee "$work/load.txt" | grep -E '^(Benchmark|ok|FAIL)'

echo "=== notification load run (paced at 20/s, then unpaced)"
notif_paced=$work/notif-paced.md
notif_max=$work/notif-max.md
(cd e2e && LOAD_RATE=20 LOAD_DURATION=15s LOAD_REPORT=$notif_paced go test -count=1 -run '^$' \
  -bench BenchmarkLoadNotificationSend -benchtime 1x -timeout 20m ./) | grep -E '^(Benchmark|ok|FAIL)'
(cd e2e && LOAD_REPORT=$notif_max go test -count=1 -run '^$' \
  -bench BenchmarkLoadNotificationSend -benchtime 1x -timeout 20m ./) | grep -E '^(Benchmark|ok|FAIL)'

echo "=== appointment load run (bookings through the gateway, availability with a year of appointments)"
appt=$work/appt.md
(cd e2e && LOAD_REPORT=$appt go test -count=1 -run '^$' -bench BenchmarkLoadAppointments -benchtime 1x -timeout 20m ./) \
  | grep -E '^(Benchmark|ok|FAIL)'

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
{
  echo "# Benchmarks"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB,"
  echo "Go $(go env GOVERSION). Everything (load generator, gateway, user service,"
  echo "MariaDB, Consul) shares the same two cores, so the figures are a floor, and"
  echo "the ratio between paths is the meaningful number."
  echo
  echo "Reproduce: \`make bench\` (this file is rewritten), or the commands below."
  echo
  echo "## Load: GET /api/v1/users/me/ direct vs through the gateway"
  echo
  echo '```sh'
  echo "cd e2e && LOAD_DURATION=$LOAD_DURATION LOAD_WORKERS=$LOAD_WORKERS go test -run '^\$' -bench BenchmarkLoadMe -benchtime 1x ./"
  echo '```'
  echo
  cat "$load"
  echo
  echo "Each request is a JWT check (at the gateway and again in the service) and"
  echo "one primary-key read of the user in MariaDB. The gateway's share is routing,"
  echo "verification, discovery and one more loopback hop."
  echo
  echo "## Notifications: /send/ through the gateway, delivery to Mailpit over SMTP"
  echo
  echo '```sh'
  echo "cd e2e && LOAD_RATE=20 LOAD_DURATION=15s go test -run '^\$' -bench BenchmarkLoadNotificationSend -benchtime 1x ./   # paced"
  echo "cd e2e && go test -run '^\$' -bench BenchmarkLoadNotificationSend -benchtime 1x ./                               # as fast as accepted"
  echo '```'
  echo
  echo "Paced at 20 sends/s (below saturation: queue-to-sent latency):"
  echo
  cat "$notif_paced"
  echo
  echo "Unpaced (saturation: what /send/ accepts, and how fast one instance drains the queue):"
  echo
  cat "$notif_max"
  echo
  echo "FerretDB on SQLite serves no query from an index, so every claim scans the"
  echo "log collection and throughput falls as it grows; MongoDB in production uses"
  echo "the indexes the service creates."
  echo
  echo "## Appointments: bookings and availability through the gateway"
  echo
  echo '```sh'
  echo "cd e2e && go test -run '^\$' -bench BenchmarkLoadAppointments -benchtime 1x ./"
  echo '```'
  echo
  cat "$appt"
  echo
  echo "## Go benchmarks"
  echo
  echo '```sh'
  echo "cd <module> && go test -run '^\$' -bench . -benchmem -benchtime $benchtime ./..."
  echo '```'
  echo
  echo '```'
  grep -E '^(Benchmark|pkg:)' "$micro"
  echo '```'
  echo
  echo "- \`BenchmarkVerify\`: one JWT verification (EdDSA, keys cached), paid by the"
  echo "  gateway and by the service on every authenticated request."
  echo "- \`BenchmarkRouteLookup\`: the gateway's routing-table match with 60"
  echo "  advertised patterns (indexed vs a linear scan)."
  echo "- \`BenchmarkProxy\`: one request through the gateway handler to a local upstream."
} >"$out"
echo "bench: wrote ${out#"$root"/}"
