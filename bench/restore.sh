#!/usr/bin/env bash
# Benchmark, all in one run on a Chrono Scraper-shaped database, medians of RUNS:
#   - anchor: stock pg_restore -j2 of a stock pg_dump -Fc archive, at the server's default settings;
#   - chrono-dr restore beside the live database (--target-db, --no-verify), -j 2;
#   - chrono-dr restore replacing the live database, with its verification, -j 2;
#   - dr-test's restore step;
#   - the floor: stock pg_restore -j2 of an uncompressed stock archive (-Z0), its sessions given the settings
#     chrono-dr's restore gives its own (PGOPTIONS): what any tool restoring this data through pg_restore needs,
#     with no checksums, no decompression, no JVM.
# The load average is printed beside each figure: the machine may be shared. Beside each restore's total
# come its own parts: the checksums phase (for -j 2 of a compressed archive, the decompressed copy
# pg_restore -j needs; its stages from chrono-dr's -v log) and pg_restore itself. For the anchor, the floor and
# the beside restore it also prints the whole machine's CPU seconds (/proc/stat: server, tools, chrono-dr) and so
# how busy the cores were: on cores already busy, only less work makes a restore faster. The floor's settings are
# those chrono-dr's restore gives the sandbox (its server has lz4, and the default effective_cache_size).
# Usage: bench/restore.sh [SCALE] [RUNS]   (SCALE 30 is about 0.8 GB; RUNS defaults to 3)
set -euo pipefail
scale="${1:-30}"
runs="${2:-3}"
. "$(dirname "$0")/sandbox-env.sh"

"$cdr" backup --sandbox --repo "$out/repo" --digest -q >/dev/null
id=$("$cdr" list --sandbox --repo "$out/repo" --format json | python3 -c "import json,sys;print(json.load(sys.stdin)['backups'][0]['id'])")
"$bin/pg_dump" -Fc -f "$out/stock.dump"
"$bin/pg_dump" -Fc -Z0 -f "$out/stock0.dump"

results="$out/results"
load() { cut -d' ' -f1 /proc/loadavg; }
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
tck=$(getconf CLK_TCK)
cold() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
# restore's JSON: the sum of its phases (without "verify" unless $2 says so), then verify, checksums, restore
phases() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if not r.get("succeeded", True):
    sys.exit("restore failed: " + str(r.get("failure")))
ph = {p["name"]: p["millis"] / 1000 for p in r["phases"]}
print(sum(v for k, v in ph.items() if sys.argv[2] == "all" or k != "verify"), ph.get("verify", 0), ph.get("checksums", 0),
      ph.get("restore", 0))
PY
}
for i in $(seq 1 "$runs"); do
  # the anchor
  cold; "$bin/createdb" "stock_$i"; l=$(load)
  c0=$(busy); t0=$(date +%s.%N); "$bin/pg_restore" -j 2 -d "stock_$i" "$out/stock.dump"; t1=$(date +%s.%N); c1=$(busy)
  echo "pg_restore_j2 $(echo "$t1 - $t0" | bc) $l" >> "$results"
  echo "cpu_pg_restore_j2 $(echo "scale=2; ($c1 - $c0) / $tck" | bc) $l" >> "$results"
  "$bin/dropdb" "stock_$i"

  # the floor: what pg_restore itself takes with the staging settings and nothing to decompress
  cold; "$bin/createdb" "floor_$i"; l=$(load)
  c0=$(busy); t0=$(date +%s.%N)
  PGOPTIONS="-c synchronous_commit=off -c maintenance_work_mem=512MB -c max_parallel_maintenance_workers=2 -c wal_compression=lz4" \
    "$bin/pg_restore" -j 2 -d "floor_$i" "$out/stock0.dump"
  t1=$(date +%s.%N); c1=$(busy)
  echo "floor $(echo "$t1 - $t0" | bc) $l" >> "$results"
  echo "cpu_floor $(echo "scale=2; ($c1 - $c0) / $tck" | bc) $l" >> "$results"
  "$bin/dropdb" "floor_$i"

  # beside, no verification
  cold; l=$(load); c0=$(busy); t0=$(date +%s.%N)
  "$cdr" restore --sandbox --repo "$out/repo" --backup-id "$id" --target-db "cdr_$i" -j 2 --no-verify --format json -v \
    > "$out/b$i.json" 2> "$out/b$i.log" || { echo "chrono-dr restore failed:" >&2; cat "$out/b$i.json" "$out/b$i.log" >&2; exit 1; }
  t1=$(date +%s.%N); c1=$(busy)
  echo "cpu_beside $(echo "scale=2; ($c1 - $c0) / $tck" | bc) $l" >> "$results"
  echo "wall_beside $(echo "$t1 - $t0" | bc) $l" >> "$results"
  read -r secs _ checks rest < <(phases "$out/b$i.json" restore)
  echo "beside $secs $l" >> "$results"
  echo "beside_checksums $checks $l" >> "$results"
  echo "beside_pg_restore $rest $l" >> "$results"
  # the copy's stages, from the -v log: "...hashed in H ms (W ms waiting to hand them on), ... written by X in D ms; T ms in all"
  python3 - "$out/b$i.log" "$l" >> "$results" <<'PY'
import re, sys
m = re.search(r"read in (\d+) ms and hashed in (\d+) ms \((\d+) ms waiting.*? in (\d+) ms; (\d+) ms in all", open(sys.argv[1]).read())
if m:
    print("copy_hash", int(m.group(2)) / 1000, sys.argv[2])
    print("copy_decompress_write", int(m.group(4)) / 1000, sys.argv[2])
PY
  "$bin/dropdb" "cdr_$i"

  # replace, with verification (the live database is swapped; the previous one is dropped after)
  cold; l=$(load)
  "$cdr" restore --sandbox --repo "$out/repo" --backup-id "$id" -j 2 --yes --format json > "$out/r$i.json" \
    || { echo "chrono-dr replace failed:" >&2; cat "$out/r$i.json" >&2; exit 1; }
  read -r secs verify _ _ < <(phases "$out/r$i.json" all)
  echo "replace $secs $l" >> "$results"
  echo "verify $verify $l" >> "$results"
  prev=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['previous_database'])" "$out/r$i.json")
  "$bin/dropdb" "$prev"

  # the drill
  cold; l=$(load)
  "$cdr" dr-test --sandbox --repo "$out/repo" --latest --format json > "$out/drill$i.json" || true
  python3 - "$out/drill$i.json" "$l" >> "$results" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if not d["passed"]:
    sys.exit("dr-test failed")
r = [s for s in d["steps"] if s["name"] == "restore"][0]
print("drill_restore", r["millis"] / 1000, sys.argv[2])
print("drill_total", d["total_millis"] / 1000, sys.argv[2])
PY
done

python3 - "$results" "$size" "$runs" "$(nproc)" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, secs, load = line.split()
    rows[name].append((float(secs), float(load)))
def med(k):
    return statistics.median(s for s, _ in rows[k])
def loads(k):
    return "/".join(f"{l:.1f}" for _, l in rows[k])
anchor = med("pg_restore_j2")
print(f"database {sys.argv[2]}, {sys.argv[3]} runs each, medians (1-min load average at the start of each run):")
for k, label in [("pg_restore_j2", "pg_restore -j2, stock archive (anchor)"),
                 ("floor", "floor: pg_restore -j2, -Z0, staging settings"),
                 ("beside", "chrono-dr restore beside, --no-verify"),
                 ("beside_checksums", "  of which checksums (with the copy)"),
                 ("copy_hash", "    the copy: hashing the stored dump"),
                 ("copy_decompress_write", "    the copy: decompressing and writing"),
                 ("beside_pg_restore", "  of which pg_restore"),
                 ("replace", "chrono-dr replace, with verification"),
                 ("verify", "  of which verification"),
                 ("drill_restore", "dr-test: its restore step"),
                 ("drill_total", "dr-test: the whole drill")]:
    if rows[k]:
        print(f"  {label:42s} {med(k):7.2f} s  {med(k) / anchor:5.2f}x   load {loads(k)}")
print("  runs: " + "; ".join(f"{k} " + " ".join(f"{s:.2f}" for s, _ in v) for k, v in rows.items()))
pairs = zip((s for s, _ in rows["beside"]), (s for s, _ in rows["pg_restore_j2"]))
print("  beside against the anchor just before it, run by run: " + " ".join(f"{b / a:.2f}x" for b, a in pairs))
if rows["drill_total"]:
    # the drill reads the digests while its restore goes on, which slows its restore step: set its total against the restore alone too
    print(f"  dr-test: whole drill against its restore step {med('drill_total') / med('drill_restore'):.2f}x, "
          f"against the beside restore (the restore alone) {med('drill_total') / med('beside'):.2f}x (target 1.5x)")
cores = int(sys.argv[4])
for k, w, label in [("cpu_pg_restore_j2", "pg_restore_j2", "the anchor"), ("cpu_floor", "floor", "the floor"),
                    ("cpu_beside", "wall_beside", "beside (its process's whole life)")]:
    if rows[k]:
        print(f"  CPU, whole machine, {label}: {med(k):.2f} CPU s over {med(w):.2f} s: {med(k) / med(w):.2f} of {cores} cores busy")
if rows["wall_beside"]:
    print(f"  beside's process, start to exit (the JVM's start and exit too): {med('wall_beside'):.2f} s, {med('wall_beside') / anchor:.2f}x the anchor")
if rows["cpu_floor"]:
    print(f"  the floor's CPU seconds spread over all {cores} cores with none idle: {med('cpu_floor') / cores:.2f} s, "
          f"{med('cpu_floor') / cores / anchor:.2f}x the anchor")
if rows["cpu_beside"]:
    print(f"  beside's CPU seconds spread over all {cores} cores with none idle: {med('cpu_beside') / cores:.2f} s, "
          f"{med('cpu_beside') / cores / anchor:.2f}x the anchor")
print(f"target: beside <= 0.90x the anchor: {'met' if med('beside') <= 0.9 * anchor else 'NOT met'} ({med('beside') / anchor:.2f}x)")
PY
