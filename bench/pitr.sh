#!/usr/bin/env bash
# Benchmark: chrono-dr backup --type physical against pg_basebackup (client zstd:1) and
# pgBackRest (zst level 1, process-max 2), restore of the files against pgbackrest restore,
# and wal-push per segment, on a pgbench cluster with WAL archiving, in one run.
# Usage: bench/pitr.sh [PGBENCH_SCALE] [RUNS]   (scale 70 is about 1 GB; RUNS defaults to 3)
# Needs root (the server runs as the postgres OS user); installs pgbackrest when missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scale="${1:-70}"
runs="${2:-3}"
jar="$root/target/chrono-dr.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -DskipTests package)
command -v pgbackrest >/dev/null || apt-get install -y -qq pgbackrest >/dev/null
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /var/tmp/chrono-dr-pitr-bench.XXXXXX)
chmod 711 "$work"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() { as_pg "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
            for d in "$work"/r*/data; do as_pg "$bin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true; done
            rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/repo" "$work/pgbr" "$work/sock"; chown postgres "$work/repo" "$work/pgbr" "$work/sock"
printf '#!/bin/sh\nexec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar %s "$@"\n' "$jar" > "$work/cdr"; chmod 755 "$work/cdr"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -m 700 "$work/data"; chown postgres "$work/data"
as_pg "$bin/initdb" -D "$work/data" --data-checksums -U postgres --auth=trust >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/sock'
wal_level = replica
archive_mode = on
archive_command = '$root/scripts/chrono-dr wal-push --repo $work/repo %p'
max_wal_size = 4GB
CONF
as_pg "$bin/pg_ctl" -D "$work/data" -l "$work/data/server.log" -w start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
echo "pgbench scale $scale..." >&2
"$bin/pgbench" -i -q -s "$scale" >/dev/null 2>&1
"$bin/psql" -Atqc "checkpoint"
size=$(du -sh "$work/data" | cut -f1)
echo "cluster size: $size" >&2
cat > "$work/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/pgbr
compress-type=zst
compress-level=1
process-max=2
start-fast=y
archive-check=n
log-level-console=warn
[bench]
pg1-path=$work/data
pg1-port=$port
pg1-socket-path=$work/sock
CONF
chmod 644 "$work/pgbackrest.conf"
as_pg pgbackrest --config="$work/pgbackrest.conf" --stanza=bench stanza-create >/dev/null

# Each timed backup starts with the archiver caught up, so no tool pays for another's WAL backlog.
settle() {
  local seg; seg=$("$bin/psql" -Atqc "select pg_walfile_name(pg_switch_wal())")
  until [ "$("$bin/psql" -Atqc "select coalesce(last_archived_wal, '') >= '$seg' from pg_stat_archiver")" = t ]; do sleep 0.5; done
}
results="$work/results"
# chrono-dr runs through its launcher, as users and archive_command run it; its first run
# of a command with each build makes that command's class-data archive, so one untimed backup first.
settle; "$root/scripts/chrono-dr" backup --type physical --repo "$work/repo" -q >/dev/null
t() { local name=$1; shift; local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$name $(echo "$t1 - $t0" | bc)" >> "$results"; }
for i in $(seq 1 "$runs"); do
  settle; t chrono-dr_physical "$root/scripts/chrono-dr" backup --type physical --repo "$work/repo" -q
  rm -rf "$work/bb"; mkdir "$work/bb"
  settle; t pg_basebackup_zstd1 "$bin/pg_basebackup" -D "$work/bb" -Ft -X none -c fast --compress=client-zstd:1
  settle; t pgbackrest_backup as_pg pgbackrest --config="$work/pgbackrest.conf" --stanza=bench --type=full backup
done
base=$(ls -d "$work"/repo/cluster_physical_* | tail -1)
for i in $(seq 1 "$runs"); do
  mkdir -p "$work/r$i"; chmod 711 "$work/r$i"
  rport=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  t chrono-dr_restore_and_recover bash -c 'out=$1; shift; "$@" > "$out"' _ "$work/r$i.json" java -jar "$jar" pitr restore \
      --repo "$work/repo" --target-immediate --data-dir "$work/r$i/data" --port "$rport" --command "$work/cdr" --format json
  python3 -c "import json,sys; print('chrono-dr_restore_files', json.load(open(sys.argv[1]))['files_ms'] / 1000)" "$work/r$i.json" >> "$results"
  as_pg "$bin/pg_ctl" -D "$work/r$i/data" -m fast stop >/dev/null; rm -rf "$work/r$i"
  mkdir -p "$work/p$i"; chown postgres "$work/p$i"
  t pgbackrest_restore_files as_pg pgbackrest --config="$work/pgbackrest.conf" --stanza=bench --pg1-path="$work/p$i/data" restore
  rm -rf "$work/p$i"
done
# wal-push, one process per segment through the launcher (as pitr setup configures it), on
# segments the server already archived; one untimed push first makes its class-data archive.
mkdir -p "$work/walcopy" "$work/repo2"
first=1
for f in $(ls "$work"/repo/wal/*/*.zst | head -6); do
  n=$(basename "$f" .zst); zstd -q -dc "$f" > "$work/walcopy/$n"
  if [ "$first" = 1 ]; then "$root/scripts/chrono-dr" wal-push --repo "$work/repo2" "$work/walcopy/$n" >/dev/null; first=0; continue; fi
  t wal-push "$root/scripts/chrono-dr" wal-push --repo "$work/repo2" "$work/walcopy/$n"
done
python3 - "$results" "$size" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    k, v = line.split(); rows[k].append(float(v))
m = {k: statistics.median(v) for k, v in rows.items()}
print(f"cluster {sys.argv[2]}, medians:")
for k in ("chrono-dr_physical", "pg_basebackup_zstd1", "pgbackrest_backup", "chrono-dr_restore_and_recover", "chrono-dr_restore_files",
          "pgbackrest_restore_files", "wal-push"):
    print(f"  {k:30s} {m[k]:7.2f} s")
print(f"  backup: chrono-dr / pg_basebackup+zstd:1 = {m['chrono-dr_physical']/m['pg_basebackup_zstd1']:.2f}x (target <= 1.10x); "
      f"/ pgBackRest = {m['chrono-dr_physical']/m['pgbackrest_backup']:.2f}x (target < 1)")
print(f"  restore of the files: chrono-dr / pgbackrest restore = {m['chrono-dr_restore_files']/m['pgbackrest_restore_files']:.2f}x (target < 1); "
      f"with recovery and promotion chrono-dr takes {m['chrono-dr_restore_and_recover']:.2f} s")
print(f"  wal-push: {m['wal-push']:.2f} s per 16 MB segment = {16/m['wal-push']:.1f} MB/s of WAL with one archiver")
PY
