#!/usr/bin/env bash
# Benchmark: crypto/'s OpenPGP streams (docs/encryption.md) against a plain copy, and gpg's
# own decryption of the same file, on random data (as incompressible as zstd output).
# Usage: bench/encryption.sh [MIB]   (default 1024: 1 GiB; needs about twice that in $TMPDIR)
set -euo pipefail
mb="${1:-1024}"
root="$(cd "$(dirname "$0")/.." && pwd)"
jar="$root/target/chrono-dr.jar"
[ -f "$jar" ] || (cd "$root" && mvn -B -q -DskipTests package)

work="$(mktemp -d)"
export GNUPGHOME="$work/gnupg"
trap 'gpgconf --kill all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -m 700 "$GNUPGHOME"
echo "bench passphrase" > "$work/pass"
gpg_() { gpg --batch --yes --no-tty --pinentry-mode loopback --passphrase-file "$work/pass" "$@"; }
gpg_ --quick-gen-key "Bench <bench@example.org>" ed25519 cert never 2>/dev/null
fpr=$(gpg --with-colons --list-keys bench@example.org | awk -F: '/^fpr/{print $10; exit}')
gpg_ --quick-add-key "$fpr" cv25519 encr never 2>/dev/null
gpg_ --armor --export "$fpr" > "$work/pub.asc"
gpg_ --armor --export-secret-keys "$fpr" > "$work/sec.asc"

echo "$(nproc) cores, $(java -version 2>&1 | head -1)"
java -Xmx256m -cp "$jar" "$root/bench/EncryptionBench.java" "$work/pub.asc" "$work/sec.asc" "$work/pass" "$work" "$mb"
# gpg's CPU seconds (user + system), for the same per-CPU-second figure
/usr/bin/time -o "$work/cpu" -f "%U %S" gpg --batch --no-tty --pinentry-mode loopback --passphrase-file "$work/pass" \
  --decrypt "$work/enc.gpg" >/dev/null 2>&1
cpu=$(tail -1 "$work/cpu")
echo "gpg --decrypt of the same file: $(echo "$mb / ($(echo "$cpu" | tr ' ' '+'))" | bc) MiB per CPU second"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
