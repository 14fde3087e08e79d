#!/usr/bin/env bash
# Benchmark: wal-receive under unthrottled pgbench (the highest rate this machine sustains).
#  1. Lag: for every 100 ms sample (t, pg_current_wal_lsn() = L) on the server, how long until the repository's
#     WAL archive could restore L: the first moment a stored NAME.zst, or a stored NAME.partial.zst whose
#     content reaches L, was seen there (polled every 100 ms, each version hard-linked at once and measured
#     after the run: a NAME.partial holds WAL up to its last non-zero byte, rounded up to 8). Median and p99
#     over the samples taken while pgbench ran;
#     beside it the anchor (pg_stat_replication.sent_lsn: how long until the server had sent L) and
#     pg_stat_replication's own write_lag/flush_lag.
#  2. Data-loss window, RUNS times per mode: a base backup, pgbench plus one client inserting rows and keeping
#     each acknowledged commit's time; pg_ctl stop -m immediate; the data directory removed;
#     restore --point-in-time latest; window = newest acknowledged commit - newest restored one. Two
#     restores per crash: (a) the archive after the receiver stopped by SIGTERM 3 s later (the server lost,
#     the receiver's host not), (b) a hard-linked copy of the archive taken just before the crash (the
#     receiver's host lost at the same moment: what the archive held then).
# Usage: bench/wal-stream.sh [LAG_SECONDS=60] [RUNS=3] [SCALE=5] [LOAD_SECONDS=15] [MODES=async]
#   (MODES="async sync" adds RUNS crashes with wal-receive --synchronous listed in synchronous_standby_names)
# Env: CHRONO_DR_JAR (the jar measured; default target/chrono-dr.jar), CLIENTS (pgbench clients, 4),
#   PARTIAL_INTERVAL (wal-receive --partial-interval, 1), KEEP=1 (keep the lag run's samples: server.csv,
#   archive.csv, the archive versions seen, the receiver's stderr; the path is printed at the end).
# Needs root (the servers run as the postgres OS user). About 9 minutes with the defaults on 2 loaded cores,
# 2 to 3 more per sync crash.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lag_seconds="${1:-60}"
runs="${2:-3}"
scale="${3:-5}"
load_seconds="${4:-15}"
modes="${5:-async}"
clients="${CLIENTS:-4}"
partial_interval="${PARTIAL_INTERVAL:-1}"
jar="${CHRONO_DR_JAR:-$root/target/chrono-dr.jar}"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -o -DskipTests package)
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /var/tmp/chrono-dr-walstream-bench.XXXXXX)
chmod 711 "$work"
as_pg() { runuser -u postgres -- "$@"; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in "$work"/*/data; do [ -d "$d" ] && as_pg "$bin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "kept $work (the lag run's samples in $work/lag)" >&2; rm -rf "$work"/template "$work"/*/data; else rm -rf "$work"; fi
}
trap cleanup EXIT
cp "$jar" "$work/chrono-dr.jar"; chmod 644 "$work/chrono-dr.jar"   # the recovering server's restore_command runs it as postgres
printf '#!/bin/sh\nexec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar %s "$@"\n' "$work/chrono-dr.jar" > "$work/cdr"; chmod 755 "$work/cdr"
cdr() { java -XX:+UseSerialGC -jar "$work/chrono-dr.jar" "$@"; }
javac -cp "$work/chrono-dr.jar" -d "$work/probe" "$root/bench/WalStreamProbe.java"
# Background jobs are simple commands, never functions: $! is then the program itself, which cleanup and
# stop_receiver signal (a backgrounded function's $! is a subshell, and killing it leaves the program running).
probe=(java -XX:+UseSerialGC -Xmx128m -cp "$work/chrono-dr.jar:$work/probe" WalStreamProbe)
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
psql_at() { "$bin/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atqc "$2"; }

# One pgbench cluster, copied for every run (each copy streams into its own repository: same system id).
mkdir -m 700 "$work/template"; chown postgres "$work/template"
as_pg "$bin/initdb" -D "$work/template" -U postgres --auth=trust >/dev/null
cat >> "$work/template/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
max_slot_wal_keep_size = 4GB
max_wal_size = 2GB
CONF
tport=$(freeport)
as_pg "$bin/pg_ctl" -D "$work/template" -o "-p $tport" -l "$work/template/server.log" -w start >/dev/null
echo "pgbench -i scale $scale..." >&2
"$bin/pgbench" -h 127.0.0.1 -p "$tport" -U postgres -i -q -s "$scale" postgres >/dev/null 2>&1
psql_at "$tport" "CREATE TABLE acks (id bigint PRIMARY KEY); CHECKPOINT"
as_pg "$bin/pg_ctl" -D "$work/template" -m fast -w stop >/dev/null

# start_run NAME [sync]: a copy of the template running on $port, wal-receive (pid $recv) streaming into $work/NAME/repo.
start_run() {
  local name=$1 sync=${2:-}
  run="$work/$name"; mkdir -p "$run"; chmod 711 "$run"
  cp -a "$work/template" "$run/data"
  port=$(freeport)
  echo "port = $port" >> "$run/data/postgresql.conf"
  [ -n "$sync" ] && echo "synchronous_standby_names = 'chrono_dr'" >> "$run/data/postgresql.conf"
  as_pg "$bin/pg_ctl" -D "$run/data" -l "$run/data/server.log" -w start >/dev/null
  mkdir -p "$run/repo"
  PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres java -XX:+UseSerialGC -jar "$work/chrono-dr.jar" wal-receive \
      --repo "$run/repo" --spool "$run/spool" --partial-interval "$partial_interval" ${sync:+--synchronous} \
      2> "$run/receiver.err" > "$run/receiver.out" &
  recv=$!; pids+=("$recv")
  until [ "$(psql_at "$port" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'chrono_dr' AND active")" = 1 ]; do
    kill -0 "$recv" 2>/dev/null || { echo "wal-receive ended:" >&2; cat "$run/receiver.err" >&2; exit 1; }
    sleep 0.2
  done
}
stop_receiver() { kill -TERM "$recv" 2>/dev/null || true; wait "$recv" 2>/dev/null || true; }
pgbench=("$bin/pgbench" -h 127.0.0.1 -U postgres -n -M prepared -c "$clients" -j 2)

# ---- 1. lag
echo "$(date +%T) lag: ${lag_seconds} s of pgbench -c $clients -j 2 (unthrottled), wal-receive --partial-interval $partial_interval..." >&2
start_run lag
# 10 s of load first: the receiver's JIT warms up and its first segments complete, as in a receiver that has run for a while
"${pgbench[@]}" -p "$port" -T $((lag_seconds + 10)) postgres > "$run/pgbench.out" 2>&1 & bench=$!; pids+=("$bench")
sleep 10
"${probe[@]}" sample "$port" "$run/repo/wal" "$run" $((lag_seconds + 6)) &
sampler=$!; pids+=("$sampler")
wait "$bench" || true
bench_end=$(date +%s%3N)
wait "$sampler"
stop_receiver
as_pg "$bin/pg_ctl" -D "$run/data" -m fast -w stop >/dev/null
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$run/pgbench.out" | head -1)
python3 - "$run" "$tps" "$lag_seconds" "$bench_end" <<'PY' | tee "$work/lag.txt"
import sys, csv, subprocess, statistics, os
run, tps, secs, bench_end = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
SEG = 16 << 20
def end_of(name, path):
    tl, log, seg = int(name[0:8], 16), int(name[8:16], 16), int(name[16:24], 16)
    start = (log * 0x100000000) + seg * SEG
    if '.partial' not in name:
        return start + SEG
    data = subprocess.run(['zstd', '-qdc', path], capture_output=True, check=True).stdout
    # WAL records are 8-byte aligned (MAXALIGN): a record ending in zero bytes ends at the next multiple of 8,
    # where pg_current_wal_lsn() points, not at its last non-zero byte
    return start + (len(data.rstrip(b'\0')) + 7) // 8 * 8
arch, ends = [], {}
for t, name, link in csv.reader(open(f'{run}/archive.csv')):
    ends[link] = end_of(name, f'{run}/cap/{link}')
    arch.append((int(t), ends[link]))
arch.sort()
best, reach = 0, []          # (time, newest restorable LSN then), non-decreasing
for t, e in arch:
    best = max(best, e); reach.append((t, best))
rows = [r for r in csv.reader(open(f'{run}/server.csv'))]
def num(x):
    return None if x in ('null', '') else float(x)
srv = [(int(r[0]), int(r[1]), num(r[2]), num(r[3]), num(r[4]), num(r[5])) for r in rows]
def first_reach(series, lsn, t0):
    for t, e in series:
        if e >= lsn:
            return max(0, t - t0) / 1000
    return None
sent = [(t, int(s)) for t, _, s, *_ in srv if s is not None]
# the load: from the first sample to the last one 1 s before pgbench ended (later WAL, a checkpoint's or
# autovacuum's, is not written under load)
lo, hi = 0, max(i for i in range(len(srv)) if srv[i][0] < bench_end - 1000)
lags, sends, loads, unreached = [], [], [], 0
for t, lsn, _, wl, fl, ld in srv[lo:hi]:
    a = first_reach(reach, lsn, t)
    if a is None:
        unreached += 1; continue
    lags.append(a); sends.append(first_reach(sent, lsn, t) or 0); loads.append(ld)
q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]
# Exposure: at each tick, what the archive held right then (not the newest it ever held: the receiver replaces
# NAME.partial, so the newest version seen is not necessarily there) against the server; the age of the oldest WAL it lacked is what a loss of the
# receiver's host at that moment would lose.
import bisect
st, sl = [r[0] for r in srv], [r[1] for r in srv]
exposure, holes = [], 0
for line in open(f'{run}/present.csv'):
    t, ids = line.rstrip('\n').split(',', 1); t = int(t)
    if not (srv[lo][0] <= t <= srv[hi][0]):
        continue
    a = max([ends[i] for i in ids.split(';') if i in ends], default=0)
    k = bisect.bisect_right(st, t) - 1          # the server's newest sample at t
    if a >= sl[k]:
        exposure.append(0); continue
    j = bisect.bisect_right(sl, a) - 1          # the last sample whose LSN the archive still covered
    exposure.append((t - st[max(j, 0)]) / 1000)
    holes += a % SEG == 0

wl = [r[3] for r in srv[lo:hi] if r[3] is not None]; fl = [r[4] for r in srv[lo:hi] if r[4] is not None]
mb = (srv[hi][1] - srv[lo][1]) / (srv[hi][0] - srv[lo][0]) * 1000 / 1e6
load = statistics.mean(loads)
partials = sum(1 for _ in open(f'{run}/archive.csv'))
print(f"lag under pgbench ({tps} tps, {mb:.1f} MB/s of WAL, {len(lags)} samples, {partials} archive versions seen; load1 {load:.2f}):")
print(f"  archive lag (restorable from the repository)  median {statistics.median(lags):5.2f} s   p99 {q(lags, .99):5.2f} s   max {max(lags):5.2f} s   (target p99 < 1 s)  load1 {load:.2f}")
print(f"  anchor: sent by the server (sent_lsn)        median {statistics.median(sends):5.2f} s   p99 {q(sends, .99):5.2f} s  load1 {load:.2f}")
if wl:
    print(f"  pg_stat_replication write_lag               median {statistics.median(wl):5.2f} s   p99 {q(wl, .99):5.2f} s  load1 {load:.2f}")
if fl:
    print(f"  pg_stat_replication flush_lag               median {statistics.median(fl):5.2f} s   p99 {q(fl, .99):5.2f} s  load1 {load:.2f}")
print(f"  loss if the receiver's host died then       median {statistics.median(exposure):5.2f} s   p99 {q(exposure, .99):5.2f} s   max {max(exposure):5.2f} s"
      f"   (the archive without the current partial segment {100 * holes / len(exposure):.0f}% of the time)  load1 {load:.2f}")
if unreached:
    print(f"  ({unreached} samples never reached the archive before sampling ended)")
PY

# ---- 2. data-loss window
# window REF_MS ACKS RESTORED_IDS: newest acknowledged commit (at or before REF_MS) - newest restored one, and rows lost.
window() {
  python3 - "$@" <<'PY'
import sys
ref, acks, restored = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ack = {int(i): int(t) for i, t in (l.split() for l in open(acks))}
got = {int(l) for l in open(restored) if l.strip()}
upto = {i: t for i, t in ack.items() if t <= ref}
lost = [i for i in upto if i not in got]
if not upto:
    sys.exit("no acknowledged commit before the crash")
newest = max(upto.values())
kept = max([t for i, t in upto.items() if i in got], default=min(upto.values()))
print(f"{(newest - kept) / 1000 if lost else 0:.3f} {len(lost)} {len(upto)}")
PY
}
# restore_count REPO OUT: restore --point-in-time latest into a scratch directory; the acks ids it holds into OUT.
restore_ids() {
  local repo=$1 out=$2 dir="$run/r-$(basename "$2")" rport; rport=$(freeport)
  mkdir -p "$dir"; chmod 711 "$dir"; chown -R postgres "$repo/wal"
  if ! cdr restore --repo "$repo" --point-in-time latest --data-dir "$dir/data" -p "$rport" --command "$work/cdr" --timeout 600 \
      --format json > "$dir/restore.json" 2> "$dir/restore.err"; then
    # counted and shown, not fatal: a failed restore is a finding of its own
    echo "  restore from $(basename "$repo") FAILED: $(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["error"]["message"])' "$dir/restore.json" 2>/dev/null || tail -1 "$dir/restore.err")" >&2
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$dir"
    return 1
  fi
  psql_at "$rport" "SELECT id FROM acks" > "$out"
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null; rm -rf "$dir"
}
for mode in $modes; do
  for i in $(seq 1 "$runs"); do
    echo "$(date +%T) loss window: $mode run $i of $runs (${load_seconds} s of load, then the crash)..." >&2
    start_run "$mode$i" $([ "$mode" = sync ] && echo sync)
    PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres cdr backup --type physical --repo "$run/repo" -q >/dev/null
    "${pgbench[@]}" -p "$port" -T $((load_seconds + 60)) postgres > "$run/pgbench.out" 2>&1 & bench=$!; pids+=("$bench")
    "${probe[@]}" write "$port" "$run/acks" & writer=$!; pids+=("$writer")
    until [ -f "$run/acks.started" ]; do kill -0 "$writer" 2>/dev/null || { echo "the writer ended" >&2; exit 1; }; sleep 0.2; done
    sleep "$load_seconds"
    l=$(load1)
    # the repository as it is at one instant: the receiver's JVM frozen while it is hard-linked (a store it
    # was in the middle of stays in the middle; pg_receivewal, writing the spool only, goes on)
    kill -STOP "$recv"; snap=$(date +%s%3N); cp -al "$run/repo" "$run/repo-at-crash"; kill -CONT "$recv"
    as_pg "$bin/pg_ctl" -D "$run/data" -m immediate -w stop >/dev/null
    wait "$writer" || true; wait "$bench" || true
    sleep 3; stop_receiver
    rm -rf "$run/data" "$run/spool"
    wa=failed la=- na=-; wb=failed lb=- nb=-
    if restore_ids "$run/repo" "$run/ids-a"; then read -r wa la na <<< "$(window 99999999999999 "$run/acks" "$run/ids-a")"; fi
    if restore_ids "$run/repo-at-crash" "$run/ids-b"; then read -r wb lb nb <<< "$(window "$snap" "$run/acks" "$run/ids-b")"; fi
    echo "$mode $wa $la $na $wb $lb $nb $l" >> "$work/windows"
    echo "  $mode run $i: (a) receiver survives: window $wa s, $la of $na acknowledged rows lost; (b) receiver lost too: window $wb s, $lb of $nb lost; load1 $l" >&2
    rm -rf "$run"
  done
done
cat "$work/lag.txt"
[ -f "$work/windows" ] || exit 0
python3 - "$work/windows" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for l in open(sys.argv[1]):
    m, wa, la, na, wb, lb, nb, ld = l.split(); rows[m].append(((wa, la), (wb, lb), float(ld)))
def line(label, got, load, target=""):
    ok = [(float(w), int(n)) for w, n in got if w != 'failed']
    failed = len(got) - len(ok)
    fig = (f"median {statistics.median(w for w, _ in ok):5.2f} s  worst {max(w for w, _ in ok):5.2f} s  rows lost {[n for _, n in ok]}"
           if ok else "no restore succeeded")
    print(f"  {label} {fig}{f'  RESTORE FAILED {failed} of {len(got)}' if failed else ''}{target}  load1 {load:.2f}")
for m, rs in rows.items():
    load = statistics.mean(r[2] for r in rs)
    print(f"data-loss window, {m} ({len(rs)} crashes; load1 {load:.2f}):")
    line("(a) server crash, receiver runs on: ", [r[0] for r in rs], load, "  (target < 2 s)")
    line("(b) receiver lost at the same time: ", [r[1] for r in rs], load)
PY
