#!/usr/bin/env bash
# The ctest fixture around the Kafka tests: `start DIR` starts a fresh broker in DIR
# (stopping one left there by an interrupted run), `stop DIR` stops it.
set -euo pipefail
tools=$(cd "$(dirname "$0")/../../tools/kafka" && pwd)
case "${1:-}" in
  start)
    "$tools/stop.sh" "$2" --kill
    rm -rf "$2"
    "$tools/start.sh" "$2"
    ;;
  stop)
    "$tools/stop.sh" "$2"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
