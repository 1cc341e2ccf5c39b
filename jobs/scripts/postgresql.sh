#!/usr/bin/env bash
# Runs PostgreSQL 15, FerretDB's backend (task of jobs/postgresql.nomad.hcl).
#
#  1. On first start, initialises the data directory (initdb): superuser
#     "postgres", password (SCRAM) authentication for every connection,
#     socket included.
#  2. Starts the server without TCP (socket only) and, idempotently, sets the
#     superuser's password and creates each configured role with a database
#     it owns, so nothing can connect over TCP before the roles exist.
#  3. Restarts the server with TCP in the foreground (exec), so Nomad's kill
#     signal reaches postgres directly (SIGINT: fast shutdown).
#
# Environment:
#   PG_DIR                 required; holds data/ (kept between runs) and the socket
#   PG_PORT                TCP port (default 5432)
#   PG_BIND_ADDRESS        listen address (default 127.0.0.1)
#   PG_SUPERUSER_PASSWORD  required; set on first start, used afterwards
#   PG_DATABASES           comma list name=password; each gets a role and a
#                          database of that name, owned by the role
#   PG_ALLOW_CIDRS         comma list of networks (besides loopback) allowed to
#                          connect with a password, e.g. 192.168.56.0/24
#   PG_BIN                 directory of initdb/postgres (default: Debian's
#                          /usr/lib/postgresql/15/bin, else PATH)
#
# PostgreSQL refuses to run as root. As root, the server runs as the Debian
# "postgres" account; when that account cannot reach PG_DIR (a state dir under
# /root, or one of mode 700), the script re-runs itself in a private mount
# namespace where PG_DIR is bind-mounted at /run/hospital-postgresql, a path it
# can reach. The data stays in PG_DIR; the mount ends with the server.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

log() { echo "postgresql.sh: $*" >&2; }
die() { log "$*"; exit 1; }

: "${PG_DIR:?PG_DIR is required}"
: "${PG_SUPERUSER_PASSWORD:?PG_SUPERUSER_PASSWORD is required}"
port=${PG_PORT:-5432}
bind=${PG_BIND_ADDRESS:-127.0.0.1}
databases=${PG_DATABASES:-}
allow=${PG_ALLOW_CIDRS:-}

if [[ -z ${PG_BIN:-} ]]; then
  if [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then
    PG_BIN=/usr/lib/postgresql/15/bin
  elif command -v postgres >/dev/null; then
    PG_BIN=$(dirname "$(command -v postgres)")
  else
    die "PostgreSQL 15 not found (apt-get install postgresql-15)"
  fi
fi
[[ -x $PG_BIN/initdb && -x $PG_BIN/postgres ]] || die "no initdb/postgres in $PG_BIN"

secret_ok() { [[ $1 =~ ^[A-Za-z0-9._~+=-]+$ ]]; }
secret_ok "$PG_SUPERUSER_PASSWORD" || die "superuser password has unsupported characters"

mkdir -p "$PG_DIR"

# as_pg CMD...: runs CMD as the server's OS user (setpriv execs, so a
# background "${as_pg[@]}" postgres has the server's own pid).
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || die "running as root needs the postgres account (Debian's postgresql-common)"
  as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  if ! "${as_pg[@]}" test -x "$PG_DIR" 2>/dev/null; then
    [[ -z ${PG_BIND_MOUNTED:-} ]] || die "postgres cannot reach $PG_DIR even after the bind mount"
    mnt=/run/hospital-postgresql
    mkdir -p "$mnt"
    chmod 755 "$mnt"
    log "postgres cannot reach $PG_DIR; serving it from $mnt in a private mount namespace"
    exec unshare --mount --propagation private -- env PG_BIND_MOUNTED=1 PG_DIR="$mnt" \
      bash -c 'mount --bind "$1" "$2" && exec "$3"' _ "$PG_DIR" "$mnt" "$(readlink -f "$0")"
  fi
  chown postgres: "$PG_DIR"
  chmod 700 "$PG_DIR"
fi

cd "$PG_DIR"   # postgres resolves its working directory at start
data=$PG_DIR/data
[[ -d $data ]] && [[ $(id -u) -eq 0 ]] && chown -R postgres: "$data"

if [[ ! -f $data/PG_VERSION ]]; then
  log "initialising $data"
  rm -rf "$data"
  pwfile=$PG_DIR/.initdb-pw
  (umask 077 && printf '%s\n' "$PG_SUPERUSER_PASSWORD" >"$pwfile")
  [[ $(id -u) -eq 0 ]] && chown postgres: "$pwfile"
  if ! "${as_pg[@]}" "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth=scram-sha-256 \
       --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$PG_DIR/initdb.log" >&2
    rm -rf "$data"
    die "initdb failed"
  fi
  rm -f "$pwfile"
fi

# Who may connect, rewritten on every start: password (SCRAM) only, over the
# socket, loopback and the configured networks.
{
  echo "# Written by postgresql.sh on every start; edit PG_ALLOW_CIDRS instead."
  echo "local all all scram-sha-256"
  echo "host  all all 127.0.0.1/32 scram-sha-256"
  echo "host  all all ::1/128 scram-sha-256"
  IFS=',' read -ra cidrs <<<"$allow"
  for c in "${cidrs[@]}"; do
    [[ -n $c ]] || continue
    [[ $c =~ ^[0-9a-fA-F.:]+/[0-9]+$ ]] || die "bad network in PG_ALLOW_CIDRS: $c"
    echo "host  all all $c scram-sha-256"
  done
} >"$data/pg_hba.conf"
[[ $(id -u) -eq 0 ]] && chown postgres: "$data/pg_hba.conf"

server_args=(
  -D "$data"
  -p "$port"
  -c "unix_socket_directories=$PG_DIR"
  -c password_encryption=scram-sha-256
  -c max_connections=350
  -c log_destination=stderr
  -c logging_collector=off
)

# Phase 1: socket only, provision.
export PGPASSWORD=$PG_SUPERUSER_PASSWORD
"${as_pg[@]}" "$PG_BIN/postgres" "${server_args[@]}" -c "listen_addresses=" &
boot=$!
sql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$port" -U postgres -d postgres "$@"; }
for _ in $(seq 1 120); do
  [[ -S $PG_DIR/.s.PGSQL.$port ]] && sql -c 'SELECT 1' >/dev/null 2>&1 && break
  kill -0 "$boot" 2>/dev/null || die "postgres exited during start-up"
  sleep 0.5
done
sql -c 'SELECT 1' >/dev/null || die "cannot log in as postgres (password changed outside $0?)"

stmts="ALTER ROLE postgres PASSWORD '$PG_SUPERUSER_PASSWORD';"
IFS=',' read -ra pairs <<<"$databases"
for pair in "${pairs[@]}"; do
  [[ -n $pair ]] || continue
  name=${pair%%=*}
  pw=${pair#*=}
  [[ $name =~ ^[a-z][a-z0-9_]{0,62}$ ]] || die "bad role/database name: $name"
  secret_ok "$pw" || die "password for $name has unsupported characters"
  stmts+="
SELECT 'CREATE ROLE $name LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$name') \\gexec
ALTER ROLE $name LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$pw';
SELECT 'CREATE DATABASE $name OWNER $name' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$name') \\gexec
REVOKE ALL ON DATABASE $name FROM PUBLIC;"
  log "role and database $name are in place"
done
sql <<<"$stmts" >/dev/null

kill -INT "$boot"
wait "$boot" || true
unset PGPASSWORD

# Phase 2: the real server.
log "starting postgres on $bind:$port"
exec "${as_pg[@]}" "$PG_BIN/postgres" "${server_args[@]}" -c "listen_addresses=$bind"
