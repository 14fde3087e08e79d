#!/bin/bash
# run:    hold one session to the database (libpq's PG* variables; PGAPPNAME names the service),
#         reconnecting when it is ended, until stopped.
# health: healthy when this service's session is open.
set -u
case "${1:-run}" in
  run)
    trap 'exit 0' TERM INT
    while true; do
      # An idle session that asks something every 2 s, like an application's pool: no
      # long statement, so no snapshot that would keep VACUUM from removing dead rows.
      # psql ends when the session is ended (a restore's DROP, say), and the loop reconnects.
      { while sleep 2; do echo "SELECT 1;"; done; } | psql -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1 &
      wait $! || true
      sleep 1 &
      wait $!
    done
    ;;
  health)
    n="$(psql -X -tAq -c "SELECT count(*) FROM pg_stat_activity
                          WHERE application_name = current_setting('application_name')
                            AND pid <> pg_backend_pid()")" || exit 1
    [ "${n:-0}" -ge 1 ]
    ;;
  *)
    exec "$@"
    ;;
esac
