#!/usr/bin/env bash
# Runs MariaDB for the MySQL-backed services (task of jobs/mariadb.nomad.hcl).
#
#  1. On first start, initialises the data directory (mariadb-install-db).
#  2. Starts the server without networking (socket only) and, idempotently,
#     sets the root password and creates each service's database and its own
#     user, so nothing can connect over TCP before the users exist.
#  3. Restarts the server with networking in the foreground (exec), so Nomad's
#     kill signal reaches mariadbd directly.
#
# Environment:
#   MARIADB_DIR            required; holds data/ (kept between runs) and the socket
#   MARIADB_PORT           TCP port (default 3306)
#   MARIADB_BIND_ADDRESS   listen address (default 127.0.0.1)
#   MARIADB_ROOT_PASSWORD  required; set on first start, used afterwards
#   MARIADB_DATABASES      comma list db=password; each db gets a user of the same name
#   MARIADB_OS_USER        OS user mariadbd runs as (default: mysql when it can
#                          reach MARIADB_DIR, else the current user)
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

log() { echo "mariadb.sh: $*" >&2; }
die() { log "$*"; exit 1; }

: "${MARIADB_DIR:?MARIADB_DIR is required}"
: "${MARIADB_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD is required}"
port=${MARIADB_PORT:-3306}
bind=${MARIADB_BIND_ADDRESS:-127.0.0.1}
databases=${MARIADB_DATABASES:-}

command -v mariadbd >/dev/null || die "mariadbd not found (apt-get install mariadb-server)"

mkdir -p "$MARIADB_DIR"
data=$MARIADB_DIR/data
sock=$MARIADB_DIR/mysqld.sock
pidfile=$MARIADB_DIR/mysqld.pid

# Which OS user runs the server. As root, mariadbd insists on --user; the
# Debian "mysql" account is used when it can reach the directory (it cannot
# under /root, the default state dir of a root developer).
osuser=${MARIADB_OS_USER:-}
if [[ -z $osuser ]]; then
  if [[ $(id -u) -eq 0 ]] && id mysql >/dev/null 2>&1; then
    chown mysql: "$MARIADB_DIR"
    if runuser -u mysql -- test -w "$MARIADB_DIR"; then
      osuser=mysql
    else
      osuser=root
    fi
  else
    osuser=$(id -un)
  fi
fi
if [[ $(id -u) -eq 0 && $osuser != root ]]; then
  chown "$osuser": "$MARIADB_DIR"
  [[ -d $data ]] && chown -R "$osuser": "$data"
fi

if [[ ! -d $data/mysql ]]; then
  log "initialising $data (user $osuser)"
  mkdir -p "$data"
  [[ $(id -u) -eq 0 ]] && chown "$osuser": "$data"
  mariadb-install-db --no-defaults --user="$osuser" --datadir="$data" \
    --auth-root-authentication-method=normal --skip-test-db \
    >"$MARIADB_DIR/install.log" 2>&1 \
    || { cat "$MARIADB_DIR/install.log" >&2; rm -rf "$data"; die "mariadb-install-db failed"; }
fi

server_args=(
  --no-defaults
  --user="$osuser"
  --datadir="$data"
  --socket="$sock"
  --pid-file="$pidfile"
  --skip-log-bin
  --character-set-server=utf8mb4
  --collation-server=utf8mb4_unicode_ci
)

# Phase 1: socket only, provision.
rm -f "$sock"
mariadbd "${server_args[@]}" --skip-networking &
boot=$!
for _ in $(seq 1 120); do
  if mariadb-admin --no-defaults --socket="$sock" --user=root --password="$MARIADB_ROOT_PASSWORD" ping >/dev/null 2>&1 \
     || mariadb-admin --no-defaults --socket="$sock" --user=root ping >/dev/null 2>&1; then
    break
  fi
  kill -0 "$boot" 2>/dev/null || die "mariadbd exited during start-up"
  sleep 0.5
done

# root: try the configured password, then the empty one of a fresh datadir.
sql() { MYSQL_PWD=$MARIADB_ROOT_PASSWORD mariadb --no-defaults --socket="$sock" --user=root --batch "$@"; }
if ! sql -e 'SELECT 1' >/dev/null 2>&1; then
  mariadb --no-defaults --socket="$sock" --user=root --batch -e 'SELECT 1' >/dev/null 2>&1 \
    || die "cannot log in as root (root password changed outside $0?)"
  [[ $MARIADB_ROOT_PASSWORD =~ ^[A-Za-z0-9._~+=-]+$ ]] || die "root password has unsupported characters"
  log "setting the root password"
  mariadb --no-defaults --socket="$sock" --user=root --batch \
    -e "ALTER USER 'root'@'localhost' IDENTIFIED BY '$MARIADB_ROOT_PASSWORD';"
fi

stmts="DELETE FROM mysql.global_priv WHERE User = '';"
IFS=',' read -ra pairs <<<"$databases"
for pair in "${pairs[@]}"; do
  [[ -n $pair ]] || continue
  db=${pair%%=*}
  pw=${pair#*=}
  [[ $db =~ ^[a-z][a-z0-9_]{0,63}$ ]] || die "bad database name: $db"
  [[ $pw =~ ^[A-Za-z0-9._~+=-]+$ ]] || die "password for $db has unsupported characters"
  stmts+="
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$db'@'%' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS '$db'@'localhost' IDENTIFIED BY '$pw';
ALTER USER '$db'@'%' IDENTIFIED BY '$pw';
ALTER USER '$db'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$db'@'%';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$db'@'localhost';"
  log "database $db and its user are in place"
done
sql -e "$stmts FLUSH PRIVILEGES;"

MYSQL_PWD=$MARIADB_ROOT_PASSWORD mariadb-admin --no-defaults --socket="$sock" --user=root shutdown
wait "$boot" || true

# Phase 2: the real server.
log "starting mariadbd on $bind:$port"
exec mariadbd "${server_args[@]}" --port="$port" --bind-address="$bind"
