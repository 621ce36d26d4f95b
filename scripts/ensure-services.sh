#!/usr/bin/env bash
# Makes sure the PostgreSQL and NATS (JetStream) servers the tests use are up on loopback,
# starting them with the machine's own commands when they are not. Fails loudly otherwise.
set -euo pipefail

PG_HOST=127.0.0.1 PG_PORT=5432
NATS_HOST=127.0.0.1 NATS_PORT=4222

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # name host port seconds
  local deadline=$((SECONDS + $4))
  until port_open "$2" "$3"; do
    if ((SECONDS >= deadline)); then
      echo "error: $1 did not come up on $2:$3 within $4 s" >&2
      return 1
    fi
    sleep 0.2
  done
}

if ! port_open $PG_HOST $PG_PORT; then
  echo "PostgreSQL is down on $PG_HOST:$PG_PORT; starting it" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_for PostgreSQL $PG_HOST $PG_PORT 30
fi
if command -v pg_isready >/dev/null; then
  deadline=$((SECONDS + 30))
  until pg_isready -q -h $PG_HOST -p $PG_PORT; do
    ((SECONDS < deadline)) || { echo "error: PostgreSQL does not accept connections" >&2; exit 1; }
    sleep 0.2
  done
fi

if ! port_open $NATS_HOST $NATS_PORT; then
  echo "NATS is down on $NATS_HOST:$NATS_PORT; starting it" >&2
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a $NATS_HOST -p $NATS_PORT -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for NATS $NATS_HOST $NATS_PORT 30
fi
echo "services up: PostgreSQL $PG_HOST:$PG_PORT, NATS $NATS_HOST:$NATS_PORT"
