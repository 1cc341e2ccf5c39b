# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for scripts/run.sh and scripts/stop.sh (sourced).
#
# Environment (all optional):
#   STATE_DIR           state of the local platform (default $HOME/.local/state/hospital)
#   HOSPITAL_TOOLS_BIN  consul, nomad, ferretdb, victoria-logs, mailpit, stripe-mock (default $HOME/.cache/hospital/bin)
#   BUILD_BIN           the services' binaries (default <repo>/build/bin)
#   SERVICES            app services to deploy, in order (default: the Makefile's SERVICES)
#   INSTANCES           instances of each service (default 1; a service with a
#                       static port, the gateway, always runs one locally)
#   INSTANCES_<NAME>    instances of one service, e.g. INSTANCES_APPOINTMENT=2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${STATE_DIR:-$HOME/.local/state/hospital}
TOOLS_BIN=${HOSPITAL_TOOLS_BIN:-$HOME/.cache/hospital/bin}
BUILD_BIN=${BUILD_BIN:-$root/build/bin}
export PATH="$TOOLS_BIN:$PATH:/usr/sbin:/sbin"

CONSUL_URL=http://127.0.0.1:8500
NOMAD_URL=http://127.0.0.1:4646

LOG_DIR=$STATE_DIR/logs
PID_DIR=$STATE_DIR/run
SECRETS_FILE=$STATE_DIR/secrets.env

# Store jobs, deployed before the services (names of jobs/<name>.nomad.hcl and
# of the Consul services Nomad registers for them).
STORE_JOBS=(postgresql mariadb ferretdb victorialogs mailpit stripe-mock)

# The app services all deploy jobs/service.nomad.hcl with the settings of
# jobs/services/<name>.hcl.
SERVICE_JOB=$root/jobs/service.nomad.hcl
service_file() { printf '%s/jobs/services/%s.hcl' "$root" "$1"; }

# service_spec NAME: the job that jobs/service.nomad.hcl makes with the settings
# of jobs/services/NAME.hcl, as JSON (parsed by Nomad itself; no agent needed).
declare -A _service_spec=()
service_spec() {
  if [[ -z ${_service_spec[$1]:-} ]]; then
    _service_spec[$1]=$(nomad job run -output -var-file="$(service_file "$1")" "$SERVICE_JOB") \
      || die "jobs/services/$1.hcl: nomad cannot read it (see above)"
  fi
  printf '%s' "${_service_spec[$1]}"
}

# service_stores NAME: the stores the service declares (stores = ["mysql", "mongo"]).
service_stores() { service_spec "$1" | jq -r '.Job.Meta.stores // "" | split(",")[] | select(. != "")'; }

# service_port NAME: the service's static HTTP port, or 0 (Nomad picks one).
service_port() { service_spec "$1" | jq -r '[.Job.TaskGroups[0].Networks[0].ReservedPorts[]?.Value] | first // 0'; }

uses_store() { service_stores "$1" | grep -qx "$2"; }

say() { printf '%s\n' "$*"; }
step() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# in_list WORD LIST...
in_list() {
  local w=$1; shift
  local x
  for x in "$@"; do [[ $x == "$w" ]] && return 0; done
  return 1
}

upper() { printf '%s' "$1" | tr '[:lower:]-' '[:upper:]_'; }

# http_ok URL: true when URL answers 2xx.
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# pid_alive NAME: true when $PID_DIR/NAME.pid names a live process that is
# still the agent (a stale pid file may name a recycled pid).
pid_alive() {
  local f=$PID_DIR/$1.pid pid
  [[ -f $f ]] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qE "(^|/)$1 agent"
}

# SERVICES from the environment, else the Makefile's list.
resolve_services() {
  if [[ -z ${SERVICES+x} ]]; then
    SERVICES=$(make -s --no-print-directory -C "$root" print-services)
  fi
  read -ra SERVICE_LIST <<<"$SERVICES"
}

# Processes left from an earlier Nomad agent that died without stopping its
# jobs: tasks (their environment has NOMAD_ALLOC_DIR inside this state dir's
# alloc tree), task executors (their command line names that tree) and log
# shippers (nomad logmon, holding files in that tree open).
orphans() {
  local p exe alloc=$STATE_DIR/nomad/alloc/
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    if tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qF "NOMAD_ALLOC_DIR=$alloc" \
       || tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$alloc"; then
      echo "$p"
      continue
    fi
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
    if [[ ${exe##*/} == nomad ]] && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qE '^[^ ]*nomad logmon' \
       && find "/proc/$p/fd" -maxdepth 1 -lname "$alloc*" 2>/dev/null | grep -q .; then
      echo "$p"
    fi
  done
}

# unmount_allocs: Nomad (as root) mounts tmpfs secrets/ and private/ dirs in
# every task dir; an agent that died leaves them behind. Deepest first.
unmount_allocs() {
  local m
  awk -v p="$STATE_DIR/nomad/" 'index($2, p) == 1 { print $2 }' /proc/mounts 2>/dev/null | sort -r \
    | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || warn "could not unmount $m"
      done
}

# kill_wait PID...: SIGTERM, up to 30 s for them to exit, then SIGKILL.
kill_wait() {
  (($# > 0)) || return 0
  kill "$@" 2>/dev/null || true
  local deadline=$((SECONDS + 30)) p alive
  while ((SECONDS < deadline)); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.5
  done
  for p in "$@"; do
    if kill -0 "$p" 2>/dev/null; then
      warn "pid $p did not exit in 30s; killing it"
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
}
