#!/usr/bin/env bash
# Builds the pinned infrastructure binaries (Consul, Nomad, FerretDB, VictoriaLogs,
# Mailpit, stripe-mock) into a cache directory outside the repository, so a second run reuses them.
# A consul or nomad already on PATH is used instead of building one.
#
# usage: tools/build.sh [tool...]   (default: all)
# env:   HOSPITAL_TOOLS_BIN  where binaries go (default: $HOME/.cache/hospital/bin)
#
# Each tool is a small Go module under tools/<dir>/ that pins the upstream version
# (go.mod/go.sum); a binary is rebuilt only when that module changes. Builds are
# serialised with a lock, so `make run` and `make test` started together do not
# build the same tool twice.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${HOSPITAL_TOOLS_BIN:-$HOME/.cache/hospital/bin}
mkdir -p "$bin"

# tool name -> "module dir|package|version|cgo"
# Nomad needs cgo (runc's nsenter); the rest build as static binaries.
# FerretDB is built from tools/ferretdb itself: a thin main around the embeddable
# package, because the upstream command refuses to run when built from the proxy.
declare -A spec=(
  [consul]="consul|github.com/hashicorp/consul|v1.14.5|0"
  [nomad]="nomad|github.com/hashicorp/nomad|v1.6.1|1"
  [ferretdb]="ferretdb|.|v1.24.2|0"
  [victoria-logs]="victorialogs|github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs|v1.52.1|0"
  [mailpit]="mailpit|github.com/axllent/mailpit|v1.33.1|0"
  [stripe-mock]="stripemock|github.com/stripe/stripe-mock|v0.203.0|0"
)
all=(consul nomad ferretdb victoria-logs mailpit stripe-mock)

say() { echo "tools: $*"; }

# stamp identifies what a binary was built from: the version and the tool module's files.
stamp_of() {
  local dir=$1 version=$2
  echo "$version $(cd "$here/$dir" && cat go.mod go.sum *.go 2>/dev/null | sha256sum | cut -c1-16)"
}

# Prints a line every 30 s while a long build runs, so a first run does not look hung.
ticker() {
  local name=$1 n=0
  # Short sleeps: when the ticker is killed, no long sleep is left holding stdout.
  while sleep 1; do
    ((++n % 30 == 0)) && say "  still building $name... ${n}s"
  done
}

build() {
  local name=$1 dir pkg version cgo
  IFS='|' read -r dir pkg version cgo <<<"${spec[$name]}"
  local out="$bin/$name"
  local stampfile="$bin/.$name.version"
  local want
  want=$(stamp_of "$dir" "$version")

  if [[ -x $out && -f $stampfile && $(cat "$stampfile") == "$want" ]]; then
    return 0
  fi
  # A consul/nomad on PATH (not our own symlink) is used as is.
  if [[ $name == consul || $name == nomad ]]; then
    local onpath
    onpath=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vxF "$bin" | paste -sd:) command -v "$name" 2>/dev/null || true)
    if [[ -n $onpath ]]; then
      ln -sfn "$onpath" "$out"
      echo "$want" >"$stampfile"
      say "using $name from PATH ($onpath: $("$onpath" version 2>/dev/null | head -1))"
      return 0
    fi
  fi
  if [[ $cgo == 1 ]] && ! command -v gcc >/dev/null 2>&1; then
    say "$name needs a C compiler (gcc) to build" >&2
    exit 1
  fi

  say "building $name $version (first time only; Consul and Nomad take several minutes)..."
  local start=$SECONDS tick
  ticker "$name" 9>&- &
  tick=$!
  local rc=0
  (cd "$here/$dir" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=$cgo \
    go build -trimpath -o "$out.tmp" "$pkg") || rc=$?
  kill "$tick" 2>/dev/null || true
  wait "$tick" 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    rm -f "$out.tmp"
    say "building $name failed (exit $rc)" >&2
    exit "$rc"
  fi
  rm -f "$out"
  mv "$out.tmp" "$out"
  echo "$want" >"$stampfile"
  say "built $name in $((SECONDS - start))s -> $out"
}

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=("${all[@]}")
for t in "${tools[@]}"; do
  [[ -n ${spec[$t]:-} ]] || { echo "tools: unknown tool $t (known: ${all[*]})" >&2; exit 2; }
done

# One build at a time per cache directory.
exec 9>"$bin/.lock"
if ! flock -n 9; then
  say "another build is running; waiting for it..."
  flock 9
fi
built=0
for t in "${tools[@]}"; do
  before=$(cat "$bin/.$t.version" 2>/dev/null || true)
  build "$t"
  [[ $(cat "$bin/.$t.version") == "$before" ]] || built=1
done
((built)) || say "up to date in $bin (${tools[*]})"
