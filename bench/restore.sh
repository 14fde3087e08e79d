#!/usr/bin/env bash
# Benchmark: chrono-dr restore (beside, without its verification phase) against pg_restore -j2
# of a stock pg_dump -Fc archive of the same data, on a Chrono Scraper-shaped database; the
# verification phase and a whole dr-test drill are reported on their own.
# Usage: bench/restore.sh [SCALE] [RUNS]   (SCALE 30 is about 0.8 GB; RUNS defaults to 3)
set -euo pipefail
scale="${1:-30}"
runs="${2:-3}"
. "$(dirname "$0")/sandbox-env.sh"

"$cdr" backup --sandbox --repo "$out/repo" --digest -q >/dev/null
id=$("$cdr" list --sandbox --repo "$out/repo" --format json | python3 -c "import json,sys;print(json.load(sys.stdin)['backups'][0]['id'])")
"$bin/pg_dump" -Fc -f "$out/stock.dump"

results="$out/results"
for i in $(seq 1 "$runs"); do
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  "$cdr" restore --sandbox --repo "$out/repo" --backup-id "$id" --target-db "cdr_$i" -j 2 --format json > "$out/r$i.json" \
    || { echo "chrono-dr restore failed:" >&2; cat "$out/r$i.json" >&2; exit 1; }
  python3 - "$out/r$i.json" >> "$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ph = {p["name"]: p["millis"] / 1000 for p in r["phases"]}
print("chrono-dr", sum(v for k, v in ph.items() if k != "verify"))
print("verify", ph.get("verify", 0))
PY
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  "$bin/createdb" "stock_$i"
  t0=$(date +%s.%N); "$bin/pg_restore" -j 2 -d "stock_$i" "$out/stock.dump"; t1=$(date +%s.%N)
  echo "pg_restore_j2 $(echo "$t1 - $t0" | bc)" >> "$results"
  "$bin/dropdb" "cdr_$i"; "$bin/dropdb" "stock_$i"
done
"$cdr" dr-test --sandbox --repo "$out/repo" --latest --format json > "$out/drill.json" || true

python3 - "$results" "$size" "$out/drill.json" <<'PY'
import sys, statistics, collections, json
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, secs = line.split()
    rows[name].append(float(secs))
med = {k: statistics.median(v) for k, v in rows.items()}
print(f"database {sys.argv[2]}, {len(rows['chrono-dr'])} runs each, medians:")
print(f"  chrono-dr restore (checksums, toc, restore) {med['chrono-dr']:7.2f} s")
print(f"  pg_restore -j2 (stock archive)              {med['pg_restore_j2']:7.2f} s")
print(f"  ratio: {med['chrono-dr'] / med['pg_restore_j2']:.2f}x (target <= 1.10x)")
print(f"  verification phase on its own               {med['verify']:7.2f} s")
d = json.load(open(sys.argv[3]))
total = d["total_millis"] / 1000
print(f"dr-test: {'passed' if d['passed'] else 'FAILED'} in {total:.1f} s; share of each step:")
restore = 0
for s in d["steps"]:
    if s["name"] == "restore":
        restore = s["millis"] / 1000
    print(f"  {s['name']:14s} {s['millis']/1000:7.2f} s  {100*s['millis']/max(1,d['total_millis']):5.1f}%")
print(f"  overhead beyond the restore: {(total - restore):.1f} s = {(total - restore) / max(restore, 0.001):.2f}x the restore (target < 0.5x)")
PY
