#!/usr/bin/env bash
# test-databases.sh up|env|down
#
# MariaDB and PostgreSQL from Debian's packages for Michman's API suites, on a machine where nothing
# runs yet (no systemd as PID 1: the daemons are started by hand).
#
#   up     install the packages if missing, start both servers on 127.0.0.1 (3306, 5432) unless
#          they answer already, and make sure the test account `michman_ci` can log in over TCP and
#          create databases. Idempotent: a second `up` changes nothing. A fresh Debian install lets
#          root (MariaDB) and postgres (PostgreSQL) in through the local socket only, so the account
#          is made through the socket, with a password generated once per machine.
#   env    create database $2 (default michman_test) on both servers unless it exists, and print
#          MICHMAN_TEST_MYSQL_URL and MICHMAN_TEST_PG_URL naming it (to eval); the suites connect
#          there and create and drop databases of their own beside it.
#   drop   drop database $2 on both servers.
#   down   stop the servers this script started (and nothing it did not start).
#
# The password lives in $STATE/password (0600) and reaches the servers on stdin, never in a
# process argument.
set -euo pipefail

STATE=${MICHMAN_TEST_DB_DIR:-/var/lib/michman-test-databases}
LOGDIR=$STATE/log
H=127.0.0.1
USER_NAME=michman_ci

log() { printf '[test-databases %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[test-databases] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts the servers as their own users)"
mkdir -p "$STATE" "$LOGDIR"
chmod 0700 "$STATE"

password() {
  local f=$STATE/password
  if [ ! -s "$f" ]; then (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$f"); fi
  cat "$f"
}

apt_install() {
  local policy=/usr/sbin/policy-rc.d created=0 rc=0
  # Packages must not start their daemons: this script starts them, where and how the tests need.
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created=1; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } \
    >> "$LOGDIR/apt.log" 2>&1 || rc=$?
  [ "$created" = 1 ] && rm -f "$policy"
  [ "$rc" = 0 ] || { tail -n 30 "$LOGDIR/apt.log" >&2; die "apt-get install $* failed (log $LOGDIR/apt.log)"; }
}

wait_until() { # seconds description command...
  local n=$1 what=$2; shift 2
  local i; for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  die "$what did not come up within ${n}s (logs in $LOGDIR)"
}

# ------------------------------------------------------------------------------------- MariaDB
mariadb_up() { mariadb-admin --protocol=socket -u root ping >/dev/null 2>&1; }
mariadb_start() {
  [ -x /usr/sbin/mariadbd ] || { log "installing mariadb-server"; apt_install mariadb-server mariadb-client; }
  if mariadb_up; then return 0; fi
  log "starting MariaDB on $H:3306"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  # mariadbd refuses to run as root; --user drops to mysql after it has opened its files.
  setsid nohup /usr/sbin/mariadbd --user=mysql --bind-address=$H >> "$LOGDIR/mariadb.log" 2>&1 < /dev/null &
  echo $! > "$STATE/mariadb.started"
  wait_until 60 MariaDB mariadb_up
}
mariadb_account() { # password
  # Through the socket as root (unix_socket); the statement and its password go on stdin.
  mariadb --protocol=socket -u root <<SQL
CREATE USER IF NOT EXISTS '$USER_NAME'@'$H' IDENTIFIED BY '$1';
ALTER USER '$USER_NAME'@'$H' IDENTIFIED BY '$1';
GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'$H' WITH GRANT OPTION;
SQL
}

# ---------------------------------------------------------------------------------- PostgreSQL
pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n1; }
pg_up() { pg_isready -q -h $H -p 5432; }
pg_start() {
  if [ -z "$(pg_version)" ]; then log "installing postgresql"; apt_install postgresql; fi
  local v; v=$(pg_version)
  [ -n "$v" ] || die "postgresql is installed but has no cluster in /etc/postgresql"
  if pg_up; then return 0; fi
  log "starting PostgreSQL $v on $H:5432"
  pg_ctlcluster --skip-systemctl-redirect "$v" main start >> "$LOGDIR/postgresql.log" 2>&1
  echo "$v" > "$STATE/postgresql.started"
  wait_until 60 PostgreSQL pg_up
}
pg_account() { # password
  # As postgres through the socket (peer). The debian cluster already asks TCP logins from
  # 127.0.0.1 for a password (scram-sha-256), which the role gets here.
  local pw=$1
  (cd / && setpriv --reuid=postgres --regid=postgres --init-groups psql -q -v ON_ERROR_STOP=1 -d postgres) <<SQL
SELECT 'CREATE ROLE $USER_NAME' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME')\gexec
ALTER ROLE $USER_NAME LOGIN CREATEDB PASSWORD '$pw';
SQL
}

cmd=${1:-}
case "$cmd" in
  up)
    command -v setpriv >/dev/null || die "setpriv (util-linux) is missing"
    pw=$(password)
    mariadb_start
    mariadb_account "$pw"
    pg_start
    pg_account "$pw"
    log "MariaDB and PostgreSQL answer on $H; account $USER_NAME (password in $STATE/password)"
    ;;
  env)
    db=${2:-michman_test}
    [[ "$db" =~ ^[A-Za-z0-9_]+$ ]] || die "database name '$db': letters, digits and _ only"
    pw=$(password)
    mariadb --protocol=socket -u root -e "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    (cd / && setpriv --reuid=postgres --regid=postgres --init-groups psql -q -v ON_ERROR_STOP=1 -d postgres) <<SQL
SELECT 'CREATE DATABASE "$db" OWNER $USER_NAME' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')\gexec
SQL
    printf "export MICHMAN_TEST_MYSQL_URL='mysql://%s:%s@%s:3306/%s'\n" "$USER_NAME" "$pw" "$H" "$db"
    printf "export MICHMAN_TEST_PG_URL='postgres://%s:%s@%s:5432/%s'\n" "$USER_NAME" "$pw" "$H" "$db"
    ;;
  drop)
    db=${2:?database name}
    [[ "$db" =~ ^[A-Za-z0-9_]+$ ]] || die "database name '$db': letters, digits and _ only"
    mariadb --protocol=socket -u root -e "DROP DATABASE IF EXISTS \`$db\`"
    (cd / && setpriv --reuid=postgres --regid=postgres --init-groups psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)")
    ;;
  down)
    if [ -f "$STATE/mariadb.started" ]; then
      log "stopping MariaDB"
      pid=$(cat /run/mysqld/mysqld.pid 2>/dev/null || cat "$STATE/mariadb.started")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      rm -f "$STATE/mariadb.started"
    fi
    if [ -f "$STATE/postgresql.started" ]; then
      log "stopping PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(cat "$STATE/postgresql.started")" main stop >> "$LOGDIR/postgresql.log" 2>&1 || true
      rm -f "$STATE/postgresql.started"
    fi
    ;;
  *) die "usage: $0 up | env [database] | drop database | down" ;;
esac
