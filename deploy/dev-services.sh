#!/usr/bin/env bash
# Starts the local services Watershed needs for development and tests, when they are not
# already running: PostgreSQL on 127.0.0.1:5432 and NATS with JetStream on 127.0.0.1:4222.
# Debian packages: postgresql, nats-server. Idempotent.
set -euo pipefail

wait_for_port() { # host port name
  for _ in $(seq 1 60); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "dev-services: $3 did not open $1:$2" >&2
  return 1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if ! port_open 127.0.0.1 5432; then
  if ! command -v pg_ctlcluster >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for_port 127.0.0.1 5432 PostgreSQL
fi

if ! port_open 127.0.0.1 4222; then
  if ! command -v nats-server >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  fi
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for_port 127.0.0.1 4222 NATS
fi
echo "dev-services: PostgreSQL 127.0.0.1:5432 and NATS 127.0.0.1:4222 are up"
