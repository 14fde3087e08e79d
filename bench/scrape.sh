#!/usr/bin/env bash
# Benchmark: a Prometheus scrape of `chrono-dr monitor --listen` (all checks, the backup
# repository included) against Debian's prometheus-postgres-exporter (0.11, default
# collectors) on the same database, both resident, both on loopback, scraped one after the
# other with curl. chrono-dr is measured twice: with its default cache (the repository and
# per-table checks reused for 5 minutes, so a steady scrape runs the rest) and with
# monitor.listen.cache: 0 (every check on every scrape).
# Usage: bench/scrape.sh [SCALE] [SCRAPES]   (SCALE 3 is a small Chrono Scraper-shaped database; SCRAPES defaults to 50)
set -euo pipefail
scale="${1:-3}"
scrapes="${2:-50}"
# A sandbox of our own: the shared default path may be another bench's.
export CHRONO_DR_SANDBOX="${CHRONO_DR_SANDBOX:-/var/tmp/chrono-dr-bench-scrape.$$}"
. "$(dirname "$0")/sandbox-env.sh"

exporter="${POSTGRES_EXPORTER:-/usr/bin/prometheus-postgres-exporter}"
if [ ! -x "$exporter" ]; then
  echo "bench: $exporter is missing: apt-get install prometheus-postgres-exporter" >&2
  exit 1
fi
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# The repository holds one backup, so backup_freshness has a listing to read.
"$cdr" backup --repo "$out/repo" -q >/dev/null

cat > "$out/nocache.yaml" <<YAML
targets:
  bench:
    host: 127.0.0.1
    port: $port
    dbname: $PGDATABASE
    user: $PGUSER
    sslmode: disable
    repo: $out/repo
    monitor:
      listen:
        cache: 0
YAML

pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_all; "$cdr" sandbox remove >/dev/null 2>&1 || true; rm -rf "$out" "$CHRONO_DR_SANDBOX"' EXIT

cdr_port=$(free_port)
"$cdr" monitor --listen "127.0.0.1:$cdr_port" --repo "$out/repo" >"$out/cdr.out" 2>"$out/cdr.log" &
pids+=($!)
nocache_port=$(free_port)
"$cdr" monitor --config "$out/nocache.yaml" --target bench --listen "127.0.0.1:$nocache_port" >"$out/nocache.out" 2>"$out/nocache.log" &
pids+=($!)
exp_port=$(free_port)
# The password goes in the environment, never in argv.
DATA_SOURCE_NAME="postgresql://$PGUSER:$PGPASSWORD@127.0.0.1:$port/$PGDATABASE?sslmode=disable" \
  "$exporter" --web.listen-address="127.0.0.1:$exp_port" --log.level=warn 2>"$out/exporter.log" &
pids+=($!)

wait_up() {
  local url=$1 i
  for i in $(seq 1 300); do
    curl -sf -o /dev/null "$url" && return 0
    sleep 0.2
  done
  echo "bench: $url never answered" >&2
  cat "$out"/*.log >&2
  exit 1
}
wait_up "http://127.0.0.1:$cdr_port/metrics"
wait_up "http://127.0.0.1:$nocache_port/metrics"
wait_up "http://127.0.0.1:$exp_port/metrics"

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
names=(cdr nocache exporter)
labels=("chrono-dr monitor --listen (default cache)" "chrono-dr monitor --listen (cache: 0)"
        "prometheus-postgres-exporter $("$exporter" --version 2>&1 | awk 'NR==1 {print $3}')")
urls=("http://127.0.0.1:$cdr_port/metrics" "http://127.0.0.1:$nocache_port/metrics" "http://127.0.0.1:$exp_port/metrics")
# 5 untimed rounds (JIT, caches), then SCRAPES rounds; in each round every endpoint is scraped
# once, in turn, so all three see the same moments of a shared machine's load.
for i in $(seq 1 5); do for u in "${urls[@]}"; do curl -s -o /dev/null "$u"; done; done
for i in $(seq 1 "$scrapes"); do
  for k in 0 1 2; do
    curl -s -o /dev/null -w '%{time_total}\n' "${urls[$k]}" | awk '{printf "%.1f\n", $1 * 1000}' >> "$out/${names[$k]}.ms"
  done
done

echo
echo "scrape latency, $scrapes scrapes each (interleaved), database $PGDATABASE ($size):"
for k in 0 1 2; do
  f="$out/${names[$k]}.ms"
  printf '  %-44s median %6s ms   min %6s   max %6s   (%s samples)\n' "${labels[$k]}" "$(median < "$f")" \
    "$(sort -n "$f" | head -n 1)" "$(sort -n "$f" | tail -n 1)" "$(curl -s "${urls[$k]}" | grep -vc '^#')"
done
curl -s -o "$out/health.json" "http://127.0.0.1:$cdr_port/health"
echo "  chrono-dr /health: $(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['status'], '; '.join(c['name'] + ' ' + c['status'] + ': ' + c['message'][:100] for c in r['checks'] if c['status'] not in ('OK', 'SKIPPED')))" "$out/health.json")"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
