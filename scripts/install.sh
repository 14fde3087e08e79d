#!/usr/bin/env bash
# Installs chrono-dr on this host: the jar, a launcher on PATH that works from any directory
# for any user (the server's archive_command runs as postgres), bash and zsh completion, and
# the man pages (chrono-dr(1), chrono-dr-backup(1), ...). Builds the jar first when needed.
#
#   scripts/install.sh [--prefix DIR]     default /usr/local
#
# Layout under PREFIX:
#   bin/chrono-dr                                    the launcher
#   lib/chrono-dr/chrono-dr.jar                      the jar
#   share/man/man1/chrono-dr*.1                      man pages
#   share/bash-completion/completions/chrono-dr      bash completion
#   share/zsh/site-functions/_chrono-dr              zsh completion
# Run it again to upgrade; remove those paths to uninstall.
set -euo pipefail

usage() {
  echo "usage: scripts/install.sh [--prefix DIR]   (default /usr/local)"
}

prefix=/usr/local
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix)
      if [ $# -lt 2 ] || [ -z "$2" ]; then echo "install.sh: --prefix needs a directory" >&2; usage >&2; exit 64; fi
      prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument '$1'" >&2; usage >&2; exit 64 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) prefix="$(pwd)/$prefix" ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/target/chrono-dr.jar"
man="$root/target/man/man1"
if [ ! -f "$jar" ] || [ ! -f "$man/chrono-dr.1" ]; then
  echo "install.sh: building $jar..." >&2
  (cd "$root" && MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true" mvn -B -q -Dstyle.color=never -DskipTests package) >&2
fi

# The launcher names java by its path at install time: archive_command runs with the
# server's environment, whose PATH may be short. CHRONO_DR_JAVA overrides it.
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/java}"
if [ -z "$java_bin" ] || [ ! -x "$java_bin" ]; then
  java_bin="$(command -v java || true)"
fi
if [ -z "$java_bin" ]; then
  echo "install.sh: no java found (install a Java 17 runtime, e.g. openjdk-17-jre-headless)" >&2
  exit 3
fi

# Everything readable by every user, whatever the umask of the one installing.
install -d -m 0755 "$prefix/bin" "$prefix/lib/chrono-dr" "$prefix/share/man/man1" \
  "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions"
install -m 0644 "$jar" "$prefix/lib/chrono-dr/chrono-dr.jar"
install -m 0644 "$man"/*.1 "$prefix/share/man/man1/"

launcher="$(mktemp)"
trap 'rm -f "$launcher"' EXIT
cat > "$launcher" <<EOF
#!/bin/sh
# chrono-dr, installed by scripts/install.sh. Works from any directory, for any user.
java="\${CHRONO_DR_JAVA:-$java_bin}"
jar="$prefix/lib/chrono-dr/chrono-dr.jar"
# Where this launcher is, for 'chrono-dr schedule' (the jobs it writes call it by this path).
CHRONO_DR_LAUNCHER="$prefix/bin/chrono-dr"
export CHRONO_DR_LAUNCHER
# cron and archive_command may run with no locale; Java then fails on every non-ASCII path.
if [ -z "\${LC_ALL:-}\${LC_CTYPE:-}\${LANG:-}" ]; then LANG=C.UTF-8; export LANG; fi
# Resident commands (wal-archiver, wal-receive, monitor --listen) get a capped heap: the rules of
# scripts/chrono-dr, which says why.
heap=
case "\${1:-}" in
  wal-archiver|wal-receive) heap=cap ;;
  monitor) for a in "\$@"; do case "\$a" in --listen|--listen=*) heap=small ;; esac; done ;;
esac
case "\${JAVA_TOOL_OPTIONS:-} \${JDK_JAVA_OPTIONS:-} \${_JAVA_OPTIONS:-}" in
  *-Xmx*|*-Xms*|*MaxRAM*|*HeapSize*) heap= ;;
esac
heapopts=
if [ -n "\$heap" ]; then
  cap="\${CHRONO_DR_RESIDENT_HEAP:-256m}"
  mb=0
  n="\${cap%[mMgG]}"
  case "\$cap" in
    *[mMgG])
      case "\$n" in
        ''|*[!0-9]*) ;;
        *)
          if [ \${#n} -le 6 ]; then
            n="\${n#"\${n%%[!0]*}"}"  # no leading zeros: sh arithmetic reads them as octal
            n="\${n:-0}"
            case "\$cap" in *[gG]) mb=\$((n * 1024)) ;; *) mb=\$n ;; esac
          fi ;;
      esac ;;
  esac
  if [ "\$mb" -lt 32 ]; then
    echo "chrono-dr: CHRONO_DR_RESIDENT_HEAP=\$cap is not a heap size of at least 32m" >&2
    echo "  hint: give megabytes or gigabytes, such as 256m or 1g, or unset it for the default (256m)" >&2
    exit 64
  fi
  heapopts="-Xmx\$cap"
  if [ "\$heap" = small ]; then heapopts="\$heapopts -Xms16m"; fi
fi
# Short commands start faster with the quick compiler alone; long ones (backup, restore,
# verify, dr-test) need the optimising one for hashing and copying.
case "\${1:-}" in
  monitor|check|list|completion|restore-point|--version|--help|"")
    exec "\$java" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \$heapopts -jar "\$jar" "\$@" ;;
  *)
    exec "\$java" -XX:+UseSerialGC -Xshare:auto \$heapopts -jar "\$jar" "\$@" ;;
esac
EOF
install -m 0755 "$launcher" "$prefix/bin/chrono-dr"

bash_completion="$prefix/share/bash-completion/completions/chrono-dr"
"$prefix/bin/chrono-dr" completion > "$launcher"
install -m 0644 "$launcher" "$bash_completion"
# zsh: picocli's script is bash; zsh runs it through bashcompinit, then completes.
cat > "$launcher" <<EOF
#compdef chrono-dr
# chrono-dr completion for zsh, installed by scripts/install.sh: picocli's bash
# completion through bashcompinit.
autoload -U +X bashcompinit && bashcompinit
source "$bash_completion"
_bash_complete -F _complete_chrono-dr -o default "\$@"
EOF
install -m 0644 "$launcher" "$prefix/share/zsh/site-functions/_chrono-dr"

# Refresh man's index where it keeps one; man finds the pages without it too.
if [ "$prefix" = /usr/local ] || [ "$prefix" = /usr ]; then
  command -v mandb >/dev/null 2>&1 && mandb -q "$prefix/share/man" >/dev/null 2>&1 || true
fi

echo "chrono-dr $("$prefix/bin/chrono-dr" --version | head -1 | cut -d' ' -f2) installed in $prefix"
echo "  launcher:    $prefix/bin/chrono-dr"
echo "  man pages:   man chrono-dr, man chrono-dr-backup, ...$(case ":$(manpath 2>/dev/null || true):" in *":$prefix/share/man:"*) ;; *) echo " (MANPATH=$prefix/share/man)";; esac)"
echo "  completion:  bash and zsh (new shells)"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "  note: $prefix/bin is not on PATH" ;;
esac
