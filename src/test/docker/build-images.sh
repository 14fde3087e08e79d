#!/usr/bin/env bash
# Builds the images the container tests use, from Debian's own packages (no image registry
# is needed or used):
#   chrono-dr-test/postgres:15   Debian bookworm, postgresql-15
#   chrono-dr-test/postgres:17   Debian trixie, postgresql-17
#   chrono-dr-test/app:latest    a stand-in application service (holds a database session)
# Each is labelled with a hash of this script and the files under postgres/ and app/; an
# image with the current hash is kept, so a machine that has the images does not rebuild.
# The first build takes a few minutes (debootstrap of two Debian releases).
#   Usage: build-images.sh [--force]    Env: DEBIAN_MIRROR (default: the one apt uses here)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
force=0
[ "${1:-}" = --force ] && force=1

command -v docker >/dev/null || { echo "build-images: no docker client (apt-get install docker.io)" >&2; exit 3; }
docker info >/dev/null 2>&1 || { echo "build-images: no Docker engine answers (start dockerd)" >&2; exit 3; }

mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(grep -hs -E '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
            | grep -o -E 'https?://[^ ]*/debian/?' | grep -v security | head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

inputs="$( (cat "$0"; find "$here/postgres" "$here/app" -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16)"
label=dev.chronodr.test.inputs

current() { # IMAGE -> 0 when it exists with the current inputs' hash
  [ "$force" = 0 ] && [ "$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true)" = "$inputs" ]
}

# The base layer changes only with the release and package list, so it has its own key:
# editing the entrypoint rebuilds the thin layer on top, not the debootstrap.
packages() { echo "postgresql-$1,postgresql-client-$1,zstd,ca-certificates"; }
base_name() { echo "chrono-dr-test/debian-pg-base:$2-$(echo "$1 $(packages "$2")" | sha256sum | cut -c1-12)"; }

base_image() { # SUITE MAJOR -> a debootstrapped base image, imported
  local suite="$1" major="$2" name root
  name="$(base_name "$suite" "$major")"
  if docker image inspect "$name" >/dev/null 2>&1 && [ "$force" = 0 ]; then
    return 0
  fi
  command -v debootstrap >/dev/null || { echo "build-images: apt-get install debootstrap" >&2; exit 3; }
  root="$(mktemp -d /var/tmp/chrono-dr-rootfs.XXXXXX)"
  echo "build-images: debootstrap $suite with postgresql-$major from $mirror"
  debootstrap --variant=minbase \
    --include="$(packages "$major")" \
    "$suite" "$root" "$mirror" > "$root.log" 2>&1 \
    || { tail -n 30 "$root.log" >&2; rm -rf "$root" "$root.log"; exit 1; }
  rm -f "$root.log"
  # Debian's package made a cluster of its own; the entrypoint makes the one the container uses.
  rm -rf "$root"/var/lib/postgresql/"$major" "$root"/etc/postgresql/"$major"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" --numeric-owner -c . | docker import - "$name" >/dev/null
  rm -rf "$root"
}

build() { # docker build ARGS..., quiet unless it fails (the legacy builder warns on every run)
  local out
  out="$(docker build -q --label "$label=$inputs" "$@" 2>&1)" || { echo "$out" >&2; exit 1; }
}

start="$(date +%s)"
for spec in 15:bookworm 17:trixie; do
  major="${spec%%:*}" suite="${spec#*:}" tag="chrono-dr-test/postgres:${spec%%:*}"
  if current "$tag"; then
    echo "build-images: $tag is current ($inputs)"
    continue
  fi
  base_image "$suite" "$major"
  build --build-arg BASE="$(base_name "$suite" "$major")" --build-arg PG_MAJOR="$major" -t "$tag" "$here/postgres"
  echo "build-images: built $tag"
done
if current chrono-dr-test/app:latest; then
  echo "build-images: chrono-dr-test/app:latest is current ($inputs)"
else
  build --build-arg BASE=chrono-dr-test/postgres:15 -t chrono-dr-test/app:latest "$here/app"
  echo "build-images: built chrono-dr-test/app:latest"
fi
# Images the previous inputs left behind.
docker image prune -f --filter "label=$label" >/dev/null 2>&1 || true
echo "build-images: done in $(( $(date +%s) - start )) s"
