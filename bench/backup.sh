#!/usr/bin/env bash
# Benchmark: chrono-dr backup against pg_dump -Fc (gzip) and pg_dump -Fc -Z0 (the floor),
# on a Chrono Scraper-shaped database of about 1 GB, in one run on one machine.
# Usage: bench/backup.sh [SCALE] [RUNS]   (SCALE 30 is about 0.8 GB, 40 about 1 GB; RUNS defaults to 3)
# CHRONO_DR_BASELINE=/path/to/other/checkout/scripts/chrono-dr also times that build, in the same
# rotation (e.g. the commit before a change), so a before/after ratio shares the machine's load.
set -euo pipefail
scale="${1:-30}"
runs="${2:-3}"
. "$(dirname "$0")/sandbox-env.sh"

# Busy CPU time of the whole machine so far, in clock ticks (user, nice, system, irq, softirq):
# it counts the server's backend as well as the client, which no per-process timer does.
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
tck=$(getconf CLK_TCK)

# time_cmd NAME OUTPUT_FILE_OR_DIR CMD...: prints seconds, bytes, load and busy CPU seconds
time_cmd() {
  local name=$1 target=$2; shift 2
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local t0 t1 b0 b1
  b0=$(busy); t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N); b1=$(busy)
  local bytes load
  bytes=$(du -sb "$target" | cut -f1)
  load=$(cut -d' ' -f1 /proc/loadavg)   # 1-minute load average at the end of the run: other work on the cores
  echo "$name $(echo "$t1 - $t0" | bc) $bytes $load $(echo "($b1 - $b0) / $tck" | bc -l)"
  if [ "$name" = pg_dump_Fc_Z0 ] && [ ! -f "$out/floor.dump" ]; then mv "$target" "$out/floor.dump"; fi
  rm -rf "$target"
}

results="$out/results"
# One untimed backup per build first: the launcher makes its class-data archive after a command's
# first run with each build, and that run would otherwise count against the first timed one.
"$cdr" backup --sandbox --repo "$out/warm" -q >/dev/null; rm -rf "$out/warm"
if [ -n "${CHRONO_DR_BASELINE:-}" ]; then
  "$CHRONO_DR_BASELINE" backup --sandbox --repo "$out/warm" -q >/dev/null; rm -rf "$out/warm"
fi
for i in $(seq 1 "$runs"); do
  time_cmd chrono-dr "$out/repo" "$cdr" backup --sandbox --repo "$out/repo" -q >> "$results"
  if [ -n "${CHRONO_DR_BASELINE:-}" ]; then
    time_cmd baseline "$out/repo-base" "$CHRONO_DR_BASELINE" backup --sandbox --repo "$out/repo-base" -q >> "$results"
  fi
  time_cmd pg_dump_Fc "$out/fc.dump" "$bin/pg_dump" -Fc -f "$out/fc.dump" >> "$results"
  time_cmd pg_dump_Fc_Z0 "$out/z0.dump" "$bin/pg_dump" -Fc -Z0 -f "$out/z0.dump" >> "$results"
done

# The CPU floor under the target: chrono-dr must do the floor's work (the server's COPY and
# pg_dump) and also compress the same stream to no more than pg_dump -Fc's size. zstd's own
# command line, single-threaded at chrono-dr's level (3, which that size needs on this data:
# level 2 comes out larger), measures what that compression costs in CPU seconds.
/usr/bin/time -o "$out/zstd.cpu" -f "%U %S" zstd -q -3 "$out/floor.dump" -o "$out/floor.zst"
echo "zstd_3 $(cat "$out/zstd.cpu" | tr ' ' '+' | bc) $(stat -c %s "$out/floor.zst") $(nproc)" > "$out/zstd.result"
rm -f "$out/floor.dump" "$out/floor.zst"

python3 - "$results" "$size" "$out/zstd.result" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
loads = collections.defaultdict(list)
cpus = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, secs, size, load, cpu = line.split()
    rows[name].append((float(secs), int(size)))
    loads[name].append(float(load))
    cpus[name].append(float(cpu))
med = {k: (statistics.median(s for s, _ in v), statistics.median(b for _, b in v)) for k, v in rows.items()}
print(f"database {sys.argv[2]}, {len(next(iter(rows.values())))} runs each (alternating), medians:")
for k in ("chrono-dr", "pg_dump_Fc", "pg_dump_Fc_Z0"):
    s, b = med[k]
    print(f"  {k:14s} {s:7.2f} s  {b/1e6:9.1f} MB   CPU {statistics.median(cpus[k]):5.2f} s (whole machine)   load avg (1 min) {min(loads[k]):.2f}-{max(loads[k]):.2f}")
print("  per run: " + "; ".join(f"{k} {' '.join(f'{s:.2f}s@{l:.1f}' for (s, _), l in zip(rows[k], loads[k]))}" for k in rows))
c, fc, z0 = med["chrono-dr"], med["pg_dump_Fc"], med["pg_dump_Fc_Z0"]
print(f"  chrono-dr / pg_dump -Fc -Z0 time: {c[0]/z0[0]:.2f}x (target <= 1.15x)")
print(f"  pg_dump -Fc / chrono-dr time:     {fc[0]/c[0]:.2f}x (target >= 5x)")
print(f"  chrono-dr / pg_dump -Fc size:     {c[1]/fc[1]:.2f}x (target <= 1.00x)")
_, zcpu, zsize, cores = open(sys.argv[3]).read().split()
zcpu, cores = float(zcpu), int(cores)
floor_cpu = statistics.median(cpus["pg_dump_Fc_Z0"])
bound = (floor_cpu + zcpu) / cores
print(f"  CPU floor: the floor's {floor_cpu:.2f} s + zstd -3 of its output {zcpu:.2f} s ({int(zsize)/1e6:.1f} MB) = {floor_cpu + zcpu:.2f} CPU s;")
print(f"    on {cores} cores at least {bound:.2f} s for any tool that does both: {bound/z0[0]:.2f}x the floor, with nothing else")
if "baseline" in med:
    b = med["baseline"]
    print(f"  baseline  {b[0]:7.2f} s  {b[1]/1e6:9.1f} MB   load avg (1 min) {min(loads['baseline']):.2f}-{max(loads['baseline']):.2f}")
    print(f"  baseline / pg_dump -Fc -Z0 time:  {b[0]/z0[0]:.2f}x")
PY
