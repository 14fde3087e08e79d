#!/usr/bin/env bash
# Benchmark: WAL archiving and replay, chrono-dr against the shell floor, in one run.
#   archive: the archive_command pitr setup writes beside a running wal-archiver (segments stored ahead
#            answered by the shell, else wal-push handing off), against
#            archive_command = 'zstd -q -1 %p -o ARCHIVE/%f.zst' (no checksum, no fsync);
#   replay:  a base backup recovered to the end of the same WAL with the restore_command pitr restore writes
#            (a spooled segment handed over by the shell, else wal-fetch with its resident look-ahead)
#            against restore_command = 'zstd -q -d -f ARCHIVE/%f.zst -o %p'.
# Archiving is measured twice: draining a backlog of WAL (archive_command empty while pgbench
# writes it: the burst, timed from the moment the command is set until the archiver caught up),
# and the lag in segments between the newest segment and the newest archived one, sampled each
# second while pgbench runs. The two run alternately, each figure printed with the 1-minute load.
# Usage: bench/wal-archive.sh [ROUNDS] [BURST_SECONDS]   (defaults 2 and 15; about 8 minutes)
# Needs root (the server and the daemon run as the postgres OS user), zstd, PostgreSQL's server.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-2}"
burst="${2:-15}"
jar="$root/target/chrono-dr.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -DskipTests package)
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
java=$(readlink -f "$(command -v java)")
work=$(mktemp -d /var/tmp/chrono-dr-wal-bench.XXXXXX)
chmod 711 "$work"
as_pg() { runuser -u postgres -- "$@"; }
load() { cut -d' ' -f1 /proc/loadavg; }
daemon_pid=""
cleanup() { [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
            for d in "$work/data" "$work"/replay-*; do as_pg "$bin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true; done
            rm -rf "$work"; }
trap cleanup EXIT
trap "exit 130" INT TERM
mkdir -p "$work/repo/wal" "$work/floor" "$work/sock"; chown -R postgres "$work/repo" "$work/floor" "$work/sock"
# the launcher archive_command runs: the server's user, an almost empty environment, java by its full path
printf '#!/bin/sh\nexec %s -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -jar %s "$@"\n' "$java" "$jar" > "$work/cdr"
chmod 755 "$work/cdr"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -m 700 "$work/data"; chown postgres "$work/data"
as_pg "$bin/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/sock'
wal_level = replica
archive_mode = on
archive_command = ''
max_wal_size = 8GB
checkpoint_timeout = 30min
synchronous_commit = off
CONF
as_pg "$bin/pg_ctl" -D "$work/data" -l "$work/data/server.log" -w start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
sql() { "$bin/psql" -Atqc "$1"; }
"$bin/pgbench" -i -q -s 10 >/dev/null 2>&1
# the load: pgbench running ranges of 2000-row updates, a steady flood of WAL (tens of MB/s here)
printf '\\set a random(1, 998000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN :a AND :a + 2000;\n' > "$work/load.sql"
chmod 644 "$work/load.sql"

floor_cmd="zstd -q -1 %p -o $work/floor/%f.zst"
# chrono-dr's archive_command is the one 'pitr setup' writes (ArchiveCommand.pushHandedOff): the shell answers a segment
# the daemon stored ahead, else wal-push runs (a JVM, counted by this launcher: how many segments the shell did not answer)
printf '#!/bin/sh\necho "$*" >> %s/push-jvm.log\nexec %s/cdr "$@"\n' "$work" "$work" > "$work/cdr-push"
chmod 755 "$work/cdr-push"; touch "$work/push-jvm.log"; chmod 666 "$work/push-jvm.log"
printf 'System.out.print(dev.chronodr.wal.ArchiveCommand.pushHandedOff(java.util.List.of("%s"), "%s"));\n/exit\n' \
  "$work/cdr-push" "$work/repo" > "$work/ac.jsh"
cdr_cmd=$(jshell -q --class-path "$jar" "$work/ac.jsh" 2>/dev/null)
case "$cdr_cmd" in *chrono-dr-archived*"wal-push"*) ;; *) echo "cannot build chrono-dr's archive_command: $cdr_cmd" >&2; exit 1 ;; esac
set_cmd() { sql "ALTER SYSTEM SET archive_command = '$1'" >/dev/null; sql "select pg_reload_conf()" >/dev/null; }
seg_no() { echo $((16#${1:16:8} + 256 * 16#${1:8:8})); }
newest_archived() { sql "select coalesce(last_archived_wal, '000000010000000000000000') from pg_stat_archiver"; }
caught_up() { # until the archiver has the segment switched to now; prints the seconds taken
  local seg t0; seg=$(sql "select pg_walfile_name(pg_switch_wal())"); t0=$(date +%s.%N)
  until [ "$(newest_archived)" \> "$seg" ] || [ "$(newest_archived)" = "$seg" ]; do sleep 0.05; done
  echo "$(date +%s.%N) - $t0" | bc; }

# setpriv execs (runuser would fork): $! is the daemon's own pid, for the SIGTERM at the end
setpriv --reuid=postgres --regid=postgres --init-groups "$java" -XX:+UseSerialGC -jar "$jar" wal-archiver --repo "$work/repo" 2>"$work/daemon.log" &
daemon_pid=$!
until grep -q serving "$work/daemon.log" 2>/dev/null; do sleep 0.1; done

# warm up both (the daemon's JIT, the page cache), then empty the queue
set_cmd "$floor_cmd"; caught_up >/dev/null; set_cmd "$cdr_cmd"; caught_up >/dev/null
# a class-data sharing archive of the hand-off's classes, as scripts/chrono-dr keeps one per command
cdsopt=""
if "$java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:DumpLoadedClassList="$work/push.classes" -jar "$jar" \
     wal-push --repo "$work/repo" "$work/data/pg_wal/$(newest_archived)" >/dev/null 2>&1 \
   && "$java" -XX:+UseSerialGC -Xshare:dump -XX:SharedClassListFile="$work/push.classes" -XX:SharedArchiveFile="$work/push.jsa" \
     -cp "$jar" >/dev/null 2>&1; then
  chmod 644 "$work/push.jsa"; cdsopt="-XX:SharedArchiveFile=$work/push.jsa"
fi
printf '#!/bin/sh\nexec %s -XX:TieredStopAtLevel=1 -XX:+UseSerialGC %s -jar %s "$@"\n' "$java" "$cdsopt" "$jar" > "$work/cdr"

printf '%-10s %-8s %9s %9s %9s %9s %6s\n' phase tool segments seconds MB/s max_lag load
# REPLAY_ONLY=1: skip the archiving rounds (the replay still archives its WAL through both)
[ -n "${REPLAY_ONLY:-}" ] || for r in $(seq 1 "$rounds"); do
  for tool in floor chrono-dr; do
    cmd=$floor_cmd; [ "$tool" = chrono-dr ] && cmd=$cdr_cmd
    # backlog drain: WAL written with archiving held, then the command set and the queue timed
    set_cmd ""; : > "$work/push-jvm.log"
    from=$(sql "select pg_walfile_name(pg_current_wal_lsn())")
    "$bin/pgbench" -n -c 2 -j 2 -f "$work/load.sql" -T "$burst" >/dev/null 2>&1
    to=$(sql "select pg_walfile_name(pg_current_wal_lsn())")
    n=$(( $(seg_no "$to") - $(seg_no "$from") + 1 ))
    t0=$(date +%s.%N); set_cmd "$cmd"; caught_up >/dev/null; secs=$(echo "$(date +%s.%N) - $t0" | bc)
    jvm=-; [ "$tool" = chrono-dr ] && jvm="$(wc -l < "$work/push-jvm.log") JVM starts"
    printf '%-10s %-8s %9d %9.2f %9.1f %9s %6s  %s\n' drain "$tool" "$n" "$secs" "$(echo "$n * 16 / $secs" | bc -l)" - "$(load)" "$jvm"
    # lag under load: pgbench with the command in place, sampled each second
    : > "$work/push-jvm.log"
    from=$(sql "select pg_walfile_name(pg_current_wal_lsn())")
    "$bin/pgbench" -n -c 2 -j 2 -f "$work/load.sql" -T "$burst" >/dev/null 2>&1 &
    pgb=$!; maxlag=0
    while kill -0 "$pgb" 2>/dev/null; do
      cur=$(sql "select pg_walfile_name(pg_current_wal_lsn())"); arc=$(newest_archived)
      lag=$(( $(seg_no "$cur") - $(seg_no "$arc") - 1 )); [ "$lag" -gt "$maxlag" ] && maxlag=$lag
      sleep 1
    done
    to=$(sql "select pg_walfile_name(pg_current_wal_lsn())"); tail=$(caught_up)
    n=$(( $(seg_no "$to") - $(seg_no "$from") + 1 ))
    jvm=-; [ "$tool" = chrono-dr ] && jvm="$(wc -l < "$work/push-jvm.log") JVM starts"
    printf '%-10s %-8s %9d %9.2f %9.1f %9d %6s  %s\n' under-load "$tool" "$n" "$tail" "$(echo "$n * 16 / ($burst + $tail)" | bc -l)" "$maxlag" "$(load)" "$jvm"
  done
done

# replay: one base backup, WAL archived by both, recovered by each to the end of the archive
set_cmd "$floor_cmd && { $cdr_cmd; }"; caught_up >/dev/null
mkdir -m 700 "$work/base"; chown postgres "$work/base"
as_pg "$bin/pg_basebackup" -D "$work/base" -X none -c fast -h "$work/sock" -p "$port" 2>/dev/null
"$bin/pgbench" -n -c 2 -j 2 -f "$work/load.sql" -T "$burst" >/dev/null 2>&1
last=$(sql "select pg_walfile_name(pg_current_wal_lsn())"); caught_up >/dev/null
as_pg "$bin/pg_ctl" -D "$work/data" -m fast stop >/dev/null
# chrono-dr's restore_command is the one 'pitr restore' writes (ArchiveCommand.fetchSpooled): the shell hands over
# a segment the resident prefetcher spooled (sha256sum against the archive's sidecar), else wal-fetch runs
printf 'System.out.print(dev.chronodr.wal.ArchiveCommand.fetchSpooled(java.util.List.of("%s"), "%s", null, null));\n/exit\n' \
  "$work/cdr-fetch" "$work/repo" > "$work/rc.jsh"
# the same launcher, counting its starts: how many segments the JVM answered rather than the shell
printf '#!/bin/sh\necho "$*" >> %s/replay-jvm.log\nexec %s/cdr "$@"\n' "$work" "$work" > "$work/cdr-fetch"
chmod 755 "$work/cdr-fetch"; touch "$work/replay-jvm.log"; chmod 666 "$work/replay-jvm.log"
cdr_rc=$(jshell -q --class-path "$jar" "$work/rc.jsh" 2>/dev/null)
case "$cdr_rc" in *sha256sum*"wal-fetch"*) ;; *) echo "cannot build chrono-dr's restore_command: $cdr_rc" >&2; exit 1 ;; esac
for r in $(seq 1 "$rounds"); do
  for tool in floor chrono-dr; do
    d="$work/replay-$tool"; rm -rf "$d"; cp -a "$work/base" "$d"; rm -f "$d/postgresql.auto.conf"
    if [ "$tool" = floor ]; then rc="zstd -q -d -f $work/floor/%f.zst -o %p"; else rc=$cdr_rc; fi
    cat >> "$d/postgresql.conf" <<CONF
restore_command = '$rc'
archive_mode = off
recovery_target_action = promote
CONF
    touch "$d/recovery.signal"; chown -R postgres "$d"; : > "$work/replay-jvm.log"
    t0=$(date +%s.%N)
    as_pg "$bin/pg_ctl" -D "$d" -l "$d/replay.log" -w -t 600 start >/dev/null
    until [ "$("$bin/psql" -h "$work/sock" -Atqc 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do sleep 0.05; done
    secs=$(echo "$(date +%s.%N) - $t0" | bc)
    as_pg "$bin/pg_ctl" -D "$d" -m immediate stop >/dev/null
    jvm=-; [ "$tool" = chrono-dr ] && jvm="$(grep -c '' "$work/replay-jvm.log") JVM starts for $(grep -c 'restored log file' "$d/replay.log") files"
    printf '%-10s %-8s %9s %9.2f %9s %9s %6s  %s\n' replay "$tool" "to $((16#${last:16:8}))" "$secs" - - "$(load)" "$jvm"
  done
done
