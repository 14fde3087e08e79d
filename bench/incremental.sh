#!/bin/bash
# PostgreSQL 17 incremental base backup against a full one, after 5% of the table's pages changed:
# a PostgreSQL 17 container (chrono-dr-test/postgres:17, src/test/docker/build-images.sh), chrono-dr on
# this host with --exec docker, as in IncrementalBackup17Test. Each round: a full base backup, then an
# UPDATE of every row in every 20th page of the table (fillfactor 50, so the new versions stay in their
# page: exactly 5% of its pages change), then an incremental one against the full. Both run back to back
# in the same round; the 1-minute load average is printed beside each figure.
#   bench/incremental.sh [ROWS (default 3000000, about 1.3 GB)] [ROUNDS (default 3)] [JAR]
set -euo pipefail
ROWS=${1:-3000000}
ROUNDS=${2:-3}
JAR=${3:-target/chrono-dr.jar}
IMAGE=chrono-dr-test/postgres:17
work=$(mktemp -d /tmp/chrono-dr-incr-bench.XXXXXX)
repo=$work/repo
mkdir -p "$repo/wal" && chmod 777 "$repo/wal"
name=chronodr-incr-bench-$$
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'docker rm -f -v "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
archive='d=/archive/$(echo %f | cut -c1-8) && mkdir -p $d && echo "$(sha256sum %p | cut -c1-64)  %f" > $d/.%f.sha256.1.tmp && mv $d/.%f.sha256.1.tmp $d/%f.sha256 && zstd -q -1 -f %p -o $d/.%f.zst.1.tmp && mv $d/.%f.zst.1.tmp $d/%f.zst'
docker run -d --name "$name" -e POSTGRES_PASSWORD=bench -e POSTGRES_USER=chrono -e POSTGRES_DB=shop \
  -p "127.0.0.1:$port:5432" -v "$repo/wal:/archive" "$IMAGE" postgres -c archive_mode=on -c "archive_command=$archive" \
  -c summarize_wal=on -c max_wal_size=4GB >/dev/null
psql() { docker exec -i "$name" psql -U chrono -d shop -qAt "$@"; }
for _ in $(seq 120); do psql -c 'SELECT 1' >/dev/null 2>&1 && docker exec "$name" pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
psql -c "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, pad text NOT NULL) WITH (fillfactor = 50)" \
     -c "INSERT INTO items SELECT g, 0, repeat('x', 200) FROM generate_series(1, $ROWS) g" -c "VACUUM ANALYZE items" -c CHECKPOINT
pages=$(psql -c "SELECT relpages FROM pg_class WHERE relname = 'items'")
echo "table: $(psql -c "SELECT pg_size_pretty(pg_total_relation_size('items'))"), $pages pages; cluster $(psql -c "SELECT pg_size_pretty(sum(pg_database_size(oid))) FROM pg_database")"
export PGPASSWORD=bench
run() {
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$(java -jar "$JAR" backup --type "$1" --exec docker --container "$name" -h 127.0.0.1 -p "$port" -U chrono -d shop \
        --repo "$repo" --format json 2>/dev/null)
  t1=$(date +%s.%N)
  echo "$out" | jq -r --arg t "$(echo "$t1 - $t0" | bc)" --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
    '(if .backup then .backup else . end) as $b | "\($b.id) stored \($b.bytes) B (\($b.uncompressed_bytes) B before zstd), \($t) s wall, load \($load)"'
}
for r in $(seq "$ROUNDS"); do
  echo "round $r"
  echo -n "  full:        "; run physical
  psql -c "UPDATE items SET v = v + 1 WHERE (ctid::text::point)[0]::int % 20 = $((r % 20))" \
       -c "SELECT 'changed pages: ' || count(DISTINCT (ctid::text::point)[0]) FROM items WHERE v = 1 AND (ctid::text::point)[0]::int % 20 = $((r % 20))" | sed 's/^/  /'
  echo -n "  incremental: "; run incremental
done
