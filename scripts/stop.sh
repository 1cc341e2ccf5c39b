#!/usr/bin/env bash
# Stops what scripts/run.sh started: every Nomad job (services first, then the
# stores), the Nomad agent and the Consul agent. Data stays in $STATE_DIR
# (PostgreSQL with FerretDB's data, MariaDB, VictoriaLogs, Mailpit, secrets), so `make run` picks up
# where it left off. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"

STOP_TIMEOUT=${STOP_TIMEOUT:-90}

# stop_pid NAME SIGNAL: stops the daemon of $PID_DIR/NAME.pid and waits for it.
stop_pid() {
  local name=$1 sig=$2 f=$PID_DIR/$1.pid pid
  if [[ ! -f $f ]]; then
    say "    $name: not running"
    return 0
  fi
  pid=$(cat "$f")
  if ! pid_alive "$name"; then
    say "    $name: not running"
    rm -f "$f"
    return 0
  fi
  kill -s "$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$name (pid $pid) did not stop in 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
  say "    $name stopped (pid $pid)"
}

nomad_up() { curl -fsS -o /dev/null --max-time 2 "$NOMAD_URL/v1/agent/self" 2>/dev/null; }

live_allocs() {
  curl -fsS --max-time 5 "$NOMAD_URL/v1/allocations" 2>/dev/null \
    | jq -r '.[] | select(.ClientStatus == "running" or .ClientStatus == "pending") | .JobID' 2>/dev/null | sort -u
}

step "Nomad jobs"
if ! pid_alive nomad && nomad_up; then
  say "    the Nomad agent on 127.0.0.1:4646 was not started from $STATE_DIR; leaving it and its jobs alone"
elif nomad_up && command -v jq >/dev/null; then
  mapfile -t jobs < <(curl -fsS --max-time 5 "$NOMAD_URL/v1/jobs" | jq -r '.[] | select(.Status != "dead") | .ID')
  ((${#jobs[@]} > 0)) || say "    none running"
  # Services before stores, so nothing loses its database while still serving.
  for phase in services stores; do
    batch=()
    for j in "${jobs[@]}"; do
      if in_list "$j" "${STORE_JOBS[@]}"; then
        [[ $phase == stores ]] && batch+=("$j")
      else
        [[ $phase == services ]] && batch+=("$j")
      fi
    done
    ((${#batch[@]} > 0)) || continue
    for j in "${batch[@]}"; do
      NOMAD_ADDR=$NOMAD_URL nomad job stop -purge -detach "$j" >/dev/null 2>&1 || warn "could not stop job $j"
    done
    deadline=$((SECONDS + STOP_TIMEOUT))
    while :; do
      left=()
      live=$(live_allocs)
      for j in "${batch[@]}"; do grep -qxF "$j" <<<"$live" && left+=("$j"); done
      ((${#left[@]} == 0)) && break
      if ((SECONDS >= deadline)); then
        warn "still running after ${STOP_TIMEOUT}s: ${left[*]}"
        break
      fi
      sleep 1
    done
    say "    stopped: ${batch[*]}"
  done
else
  say "    Nomad is not answering on 127.0.0.1:4646"
fi

step "Nomad agent"
stop_pid nomad INT

# Tasks whose executor outlived the agent (it died before its jobs stopped).
left=()
nomad_up || mapfile -t left < <(orphans)
if ((${#left[@]} > 0)); then
  warn "stopping leftover task processes: ${left[*]}"
  kill_wait "${left[@]}"
fi

unmount_allocs

step "Consul agent"
stop_pid consul INT

say "Stopped. Data kept in $STATE_DIR (delete it to start from scratch)."
