# Sourced by scripts/test and bench/run: start_throwaway_postgres starts a throwaway
# PostgreSQL server unless HIPKIT_TEST_POSTGRES_URL is already set: Debian's packages
# (installed when missing, without their system cluster), a cluster in a temporary folder
# owned by the packaged `postgres` user (PostgreSQL refuses to run as root), listening on
# 127.0.0.1 only, on a free port, with a random password. It exports
# HIPKIT_TEST_POSTGRES_URL and defines stop_postgres, which stops and removes it: call that
# from the caller's exit trap. `start_throwaway_postgres durable` keeps fsync on (benchmarks
# comparing commit rates with SQLite's fsync'd ones); by default it is off (tests).
start_throwaway_postgres() {
  if [ -n "${HIPKIT_TEST_POSTGRES_URL:-}" ]; then return 0; fi
  local fsync="-c fsync=off"
  [ "${1:-}" = durable ] && fsync=""
  pg_bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
  if [ -z "$(pg_bin_dir)" ] || [ ! -x "$(pg_bin_dir)/initdb" ]; then
    export DEBIAN_FRONTEND=noninteractive
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo -n"
    $sudo_cmd mkdir -p /etc/postgresql-common/createcluster.d \
      && echo "create_main_cluster = false" | $sudo_cmd tee /etc/postgresql-common/createcluster.d/hipkit-tests.conf >/dev/null \
      && $sudo_cmd apt-get update -qq \
      && $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
      || { echo "$0: cannot install PostgreSQL (apt-get install postgresql)" >&2; exit 1; }
  fi
  pg_bin=$(pg_bin_dir)
  as_postgres=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 \
      || { echo "$0: running as root, PostgreSQL needs the packaged \`postgres\` user, which is missing" >&2; exit 1; }
    as_postgres=(runuser -u postgres --)
  fi
  pg_dir=$(mktemp -d -t hipkit-postgres.XXXXXX)
  stop_postgres() {
    if [ -f "$pg_dir/data/postmaster.pid" ]; then
      "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$pg_dir"
  }
  pg_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$pg_password" >"$pg_dir/password"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$pg_dir"
  chmod 700 "$pg_dir"
  "${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U hipkit -A scram-sha-256 \
    --pwfile="$pg_dir/password" -E UTF8 --no-locale >"$pg_dir/initdb.log" 2>&1 \
    || { cat "$pg_dir/initdb.log" >&2; echo "$0: initdb failed" >&2; exit 1; }
  rm -f "$pg_dir/password"
  pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # fsync off (tests): the cluster is thrown away; its contents need to survive a server
  # restart (which they do), not a power cut.
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir $fsync -c max_connections=400" \
    start >/dev/null \
    || { cat "$pg_dir/server.log" >&2; echo "$0: the PostgreSQL test server did not start" >&2; exit 1; }
  export HIPKIT_TEST_POSTGRES_URL="postgres://hipkit:$pg_password@127.0.0.1:$pg_port/postgres"
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port (removed on exit)"
}
