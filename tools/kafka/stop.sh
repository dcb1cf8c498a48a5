#!/usr/bin/env bash
# Stops the broker started from DIR: SIGTERM (controlled shutdown), SIGKILL after 20 s.
#   tools/kafka/stop.sh DIR [--kill]    --kill: SIGKILL at once (simulates a crash)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [--kill]" >&2; exit 2; }
pid_file=$1/pid
[ -f "$pid_file" ] || exit 0
pid=$(cat "$pid_file")
if [ "${2:-}" = "--kill" ]; then
  kill -9 "$pid" 2>/dev/null || true
else
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
fi
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
rm -f "$pid_file"
