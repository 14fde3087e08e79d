#!/usr/bin/env bash
# Benchmark, all in one run on a Chrono Scraper-shaped database, medians of RUNS, the JVM held to
# -Xmx256m throughout (JAVA_TOOL_OPTIONS; a run that needed more would fail with OutOfMemoryError):
#   - backup into a local directory (the anchor) and into S3Proxy (filesystem backend, loopback),
#     over plain HTTP (each body signed whole) and over HTTPS (a keytool-made certificate named by
#     AWS_CA_BUNDLE; the SDK then leaves bodies unsigned, as TLS protects them);
#   - backup into the local directory encrypted to one OpenPGP key (gpg-made, cv25519);
#   - restore beside the live database (--target-db, -j 2, --no-verify) from each repository.
# The runs alternate, so that a change in the machine's load hits both sides; the 1-minute load
# average is printed beside each figure, the CPU seconds (user + system) of the run's whole process
# tree (chrono-dr, pg_dump or pg_restore, not the server nor S3Proxy), and the peak resident size.
# Usage: bench/s3.sh [SCALE] [RUNS]   (SCALE 30 is about 0.8 GB; RUNS defaults to 3)
set -euo pipefail
scale="${1:-30}"
runs="${2:-3}"
. "$(dirname "$0")/sandbox-env.sh"

s3jar="$root/target/s3proxy/s3proxy.jar"
[ -f "$s3jar" ] || (cd "$root" && mvn -B -q -DskipTests package)
s3home="$out/s3"
mkdir -p "$s3home/data/bench"   # the filesystem backend's buckets are its directories
free_port() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
s3port=$(free_port)
tlsport=$(free_port)
keytool -genkeypair -alias s3 -keyalg EC -groupname secp256r1 -dname CN=127.0.0.1 -ext san=ip:127.0.0.1 -validity 2 \
  -keystore "$s3home/server.p12" -storetype PKCS12 -storepass changeit -keypass changeit > /dev/null 2>&1
keytool -exportcert -rfc -alias s3 -keystore "$s3home/server.p12" -storepass changeit > "$s3home/ca.pem" 2> /dev/null
cat > "$s3home/s3proxy.conf" <<EOF
s3proxy.endpoint=http://127.0.0.1:$s3port
s3proxy.secure-endpoint=https://127.0.0.1:$tlsport
s3proxy.keystore-path=$s3home/server.p12
s3proxy.keystore-password=changeit
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=bench-key
s3proxy.credential=bench-secret
jclouds.provider=filesystem
jclouds.filesystem.basedir=$s3home/data
EOF
java -Xmx512m -jar "$s3jar" --properties "$s3home/s3proxy.conf" > "$s3home/log" 2>&1 &
s3pid=$!
export GNUPGHOME="$out/gnupg"
cleanup_more() { kill "$s3pid" 2>/dev/null || true; gpgconf --kill all >/dev/null 2>&1 || true; }
trap 'cleanup_more; "$cdr" sandbox remove >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
for _ in $(seq 1 150); do (echo > "/dev/tcp/127.0.0.1/$s3port") 2>/dev/null && (echo > "/dev/tcp/127.0.0.1/$tlsport") 2>/dev/null && break; sleep 0.2; done
export AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$s3port"

mkdir -m 700 "$GNUPGHOME"
echo "bench passphrase" > "$out/pass"
gpg_() { gpg --batch --yes --no-tty --pinentry-mode loopback --passphrase-file "$out/pass" "$@"; }
gpg_ --quick-gen-key "Bench <bench@example.org>" ed25519 cert never 2>/dev/null
fpr=$(gpg --with-colons --list-keys bench@example.org | awk -F: '/^fpr/{print $10; exit}')
gpg_ --quick-add-key "$fpr" cv25519 encr never 2>/dev/null
gpg_ --armor --export "$fpr" > "$out/pub.asc"

export JAVA_TOOL_OPTIONS="-Xmx256m"
results="$out/results"
load() { cut -d' ' -f1 /proc/loadavg; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
# timed NAME CMD...: wall seconds and peak resident MB of the run, with the load at its start
timed() {
  local name="$1" l
  shift
  cold; l=$(load)
  /usr/bin/time -o "$out/time" -f "%e %M %U %S" "$@" > "$out/last.out" 2> "$out/last.err" \
    || { echo "$name failed:" >&2; cat "$out/last.out" "$out/last.err" >&2; exit 1; }
  read -r secs kb user sys < "$out/time"
  echo "$name $secs $l $((kb / 1024)) $(echo "$user + $sys" | bc)" >> "$results"
}
newest() { "$cdr" list --sandbox --repo "$1" --format json 2> /dev/null | python3 -c "import json,sys;print(json.load(sys.stdin)['backups'][0]['id'])"; }

# Untimed: each command's first run also makes its class-data sharing archive (scripts/chrono-dr).
"$cdr" backup --sandbox --repo "$out/warm" -q > /dev/null 2>&1
"$cdr" restore --sandbox --repo "$out/warm" --latest --target-db warm -j 2 --no-verify -q > /dev/null 2>&1
"$bin/dropdb" warm
rm -rf "$out/warm"
# A run into a bucket, or with OpenPGP, gets an archive of its own (the AWS SDK's and Bouncy Castle's
# classes): without these, the first timed run of each kind made it and weighed in the medians. The
# bucket's is made over HTTPS, so that it holds the TLS classes too (an HTTP run loads a subset).
tls=(env "AWS_ENDPOINT_URL=https://127.0.0.1:$tlsport" "AWS_CA_BUNDLE=$s3home/ca.pem")
"${tls[@]}" "$cdr" backup --sandbox --repo "s3://bench/warm-tls" -q > /dev/null 2>&1
"$cdr" backup --sandbox --repo "s3://bench/warm" -q > /dev/null 2>&1
id=$(newest "s3://bench/warm")
"$cdr" restore --sandbox --repo "s3://bench/warm" --backup-id "$id" --target-db warm -j 2 --no-verify -q > /dev/null 2>&1
"$bin/dropdb" warm
"$cdr" backup --sandbox --repo "$out/warm" --encrypt-to "$out/pub.asc" -q > /dev/null 2>&1
rm -rf "$out/warm"

for i in $(seq 1 "$runs"); do
  timed backup_local "$cdr" backup --sandbox --repo "$out/local" -q
  timed backup_s3 "$cdr" backup --sandbox --repo "s3://bench/run$i" -q
  timed backup_s3_https "${tls[@]}" "$cdr" backup --sandbox --repo "s3://bench/tls$i" -q
  timed backup_local_encrypted "$cdr" backup --sandbox --repo "$out/enc" --encrypt-to "$out/pub.asc" -q
  id=$(newest "$out/local")
  timed restore_local "$cdr" restore --sandbox --repo "$out/local" --backup-id "$id" --target-db "local_$i" -j 2 --no-verify -q
  "$bin/dropdb" "local_$i"
  id=$(newest "s3://bench/run$i")
  timed restore_s3 "$cdr" restore --sandbox --repo "s3://bench/run$i" --backup-id "$id" --target-db "s3_$i" -j 2 --no-verify -q
  "$bin/dropdb" "s3_$i"
done

python3 - "$results" "$size" "$runs" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, secs, load, mb, cpu = line.split()
    rows[name].append((float(secs), float(load), int(mb), float(cpu)))
def med(k, i=0):
    return statistics.median(r[i] for r in rows[k])
print(f"database {sys.argv[2]}, {sys.argv[3]} runs, JVM -Xmx256m")
print(f"{'':24} {'median':>8} {'ratio':>7}  {'each run (s)':<24} {'load at start':<16} {'CPU s (median)':>14} {'ratio':>6}  peak RSS (MB)")
for name, anchor in [("backup_local", "backup_local"), ("backup_s3", "backup_local"), ("backup_s3_https", "backup_local"),
                     ("backup_local_encrypted", "backup_local"), ("restore_local", "restore_local"),
                     ("restore_s3", "restore_local")]:
    r = rows[name]
    print(f"{name:24} {med(name):7.2f}s {med(name) / med(anchor):6.2f}x  "
          f"{' / '.join(f'{x[0]:.2f}' for x in r):<24} {'/'.join(f'{x[1]:.1f}' for x in r):<16} "
          f"{med(name, 3):13.2f}s {med(name, 3) / med(anchor, 3):5.2f}x  {max(x[2] for x in r)}")
PY
