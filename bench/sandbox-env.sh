# Sourced by the benchmarks: a seeded sandbox of SCALE, libpq variables pointing at it,
# and $cdr, $bin, $out, $size; everything is removed on exit.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CHRONO_DR_SANDBOX="${CHRONO_DR_SANDBOX:-/var/tmp/chrono-dr-bench-sandbox}"
cdr="$root/scripts/chrono-dr"
out="$(mktemp -d /var/tmp/chrono-dr-bench.XXXXXX)"
trap '"$cdr" sandbox remove >/dev/null 2>&1 || true; rm -rf "$out"' EXIT

[ -f "$root/target/chrono-dr.jar" ] || (cd "$root" && mvn -B -q -DskipTests package)
"$cdr" sandbox remove >/dev/null 2>&1 || true
echo "seeding scale $scale..." >&2
"$cdr" sandbox start --scale "$scale" >/dev/null
state="$CHRONO_DR_SANDBOX/sandbox.json"
port=$(python3 -c "import json;print(json.load(open('$state'))['port'])")
bin=$(python3 -c "import json;print(json.load(open('$state'))['bin'])")
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=chrono_scraper PGSSLMODE=disable
PGPASSWORD="$(cat "$CHRONO_DR_SANDBOX/password")"; export PGPASSWORD
size=$("$bin/psql" -Atc "select pg_size_pretty(pg_database_size(current_database()))")
echo "database size: $size" >&2
