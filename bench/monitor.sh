#!/usr/bin/env bash
# Times `chrono-dr monitor` (all checks, whole process from start to exit) against the
# same checks run with check_postgres, one action per process, as Nagios would run them.
# Both talk to a throwaway cluster that this script creates, seeds, and removes.
#
#   bench/monitor.sh [RUNS]        RUNS timed runs of each (default 15); prints medians
#
# Needs PostgreSQL's server binaries (CHRONO_DR_PG_BIN, else the newest /usr/lib/postgresql/*/bin),
# check_postgres (Debian package check-postgres: installed with apt-get when missing and root),
# and Java to build/run target/chrono-dr.jar. As root the server runs as the postgres OS user.
set -euo pipefail

runs="${1:-15}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bin="${CHRONO_DR_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
if [ ! -x "$bin/initdb" ]; then
  echo "bench: no PostgreSQL server binaries (set CHRONO_DR_PG_BIN or apt-get install postgresql)" >&2
  exit 1
fi
if ! command -v check_postgres >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "bench: installing check-postgres" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq check-postgres >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq check-postgres >/dev/null; }
  else
    echo "bench: check_postgres is missing: apt-get install check-postgres" >&2
    exit 1
  fi
fi

as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
fi

work="$(mktemp -d /tmp/chrono-dr-bench.XXXXXX)"
chmod 711 "$work"
mkdir -p "$work/pg" "$work/out"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg"
data="$work/pg/data"
port=$(( 20000 + RANDOM % 20000 ))
password="bench-$RANDOM-$RANDOM"

cleanup() {
  "${as_pg[@]}" "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: cluster in $data on port $port ($("$bin/postgres" --version))" >&2
printf '%s\n' "$password" > "$work/pg/pw"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg/pw"
"${as_pg[@]}" "$bin/initdb" -D "$data" -U postgres --pwfile="$work/pg/pw" --auth-local=trust \
  --auth-host=scram-sha-256 --no-sync >/dev/null
rm -f "$work/pg/pw"
cat >> "$data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
fsync = off
shared_preload_libraries = 'pg_stat_statements'
archive_mode = on
archive_command = 'true'
EOF
"${as_pg[@]}" "$bin/pg_ctl" -D "$data" -l "$work/pg/log" -w start >/dev/null

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=bench PGPASSWORD=$password PGSSLMODE=disable
unset PGSERVICE PGPASSFILE CHRONO_DR_CONFIG CHRONO_DR_TARGET 2>/dev/null || true
psql -q -d postgres -c "CREATE DATABASE bench" >/dev/null
psql -q -c "CREATE EXTENSION pg_stat_statements" >/dev/null
"$bin/pgbench" -q -i -s 5 bench >/dev/null 2>&1
"$bin/pgbench" -c 2 -T 2 bench >/dev/null 2>&1
psql -q -c "SELECT pg_switch_wal()" >/dev/null

jar="$root/target/chrono-dr.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -DskipTests package) >&2
# scripts/chrono-dr records a class-data sharing archive per command on its first run after a
# build and uses it afterwards; make those first runs untimed.
rm -f "$root/target/cds/monitor.jsa" "$root/target/cds/default.jsa"
"$root/scripts/chrono-dr" monitor --format nagios > "$work/out/warmup.txt" || true
"$root/scripts/chrono-dr" --version > /dev/null

# The check_postgres actions closest to chrono-dr's checks, with the same levels. It has no
# lock-wait action (locks counts locks), no pg_stat_statements action, and its standby
# delay check needs a standby: those are left out, so it does less than chrono-dr here.
cp_common=(--host=127.0.0.1 --port="$port" --dbuser=postgres --db=bench)
cp_actions=(
  "--action=connection"
  "--action=backends --warning=80% --critical=95%"
  "--action=query_time --warning=5m --critical=30m"
  "--action=txn_time --warning=15m --critical=1h"
  "--action=txn_idle --warning=5m --critical=30m"
  "--action=locks --warning=100 --critical=200"
  "--action=bloat"
  "--action=last_vacuum"
  "--action=last_analyze"
  "--action=txn_wraparound"
  "--action=hitratio --warning=95% --critical=90%"
  "--action=database_size --warning=100GB --critical=200GB"
  "--action=disk_space --warning=85% --critical=95%"
  "--action=replication_slots --warning=1GB --critical=10GB"
  "--action=archive_ready --warning=10 --critical=15"
)

now_ms() { date +%s%3N; }

run_chrono() {
  "$root/scripts/chrono-dr" monitor --format nagios > "$work/out/chrono.txt" || true
}

# The floor under any chrono-dr command: JVM start and command-line parsing, no database.
run_version() {
  "$root/scripts/chrono-dr" --version > /dev/null
}

run_check_postgres() {
  local a
  : > "$work/out/cp.txt"
  for a in "${cp_actions[@]}"; do
    # shellcheck disable=SC2086
    check_postgres "${cp_common[@]}" $a >> "$work/out/cp.txt" 2>&1 || true
  done
}

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print int((v[NR/2]+v[NR/2+1])/2)}'; }

time_runs() {
  local fn=$1 i t0 t1
  for ((i = 0; i < runs; i++)); do
    t0=$(now_ms); $fn; t1=$(now_ms)
    echo $((t1 - t0))
  done
}

chrono_times=$(time_runs run_chrono)
version_times=$(time_runs run_version)
cp_times=$(time_runs run_check_postgres)
# Where one run's time goes inside the process (logged at -v).
phases=$("$root/scripts/chrono-dr" monitor -v 2>&1 >/dev/null | grep -o 'connect .*' || true)

cm=$(echo "$chrono_times" | median)
pm=$(echo "$cp_times" | median)
echo
echo "chrono-dr monitor, all checks, whole process ($runs runs):"
echo "  median ${cm} ms   min $(echo "$chrono_times" | sort -n | head -n 1) ms   max $(echo "$chrono_times" | sort -n | tail -n 1) ms"
echo "  $(head -c 160 "$work/out/chrono.txt")..."
echo "  inside the process: $phases"
echo "chrono-dr --version (JVM start + command line, no database): median $(echo "$version_times" | median) ms"
echo "check_postgres, ${#cp_actions[@]} actions, one process each ($runs runs):"
echo "  median ${pm} ms   min $(echo "$cp_times" | sort -n | head -n 1) ms   max $(echo "$cp_times" | sort -n | tail -n 1) ms"
echo "  $(grep -c ' OK' "$work/out/cp.txt") of ${#cp_actions[@]} actions OK"
echo "ratio: check_postgres / chrono-dr = $(awk -v a="$pm" -v b="$cm" 'BEGIN {printf "%.1f", a / b}')x"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
