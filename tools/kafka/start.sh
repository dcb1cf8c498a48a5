#!/usr/bin/env bash
# Starts a single-node Apache Kafka (KRaft, combined broker and controller) on 127.0.0.1.
#
#   tools/kafka/start.sh DIR     prints the bootstrap address (127.0.0.1:PORT)
#
# DIR holds the configuration, data, log (broker.log) and pid. A new DIR gets free ports
# and freshly formatted storage; an existing DIR (after stop.sh) restarts the same broker
# on the same ports with its data, which is how tests restart a broker under a job.
# Returns once the broker answers metadata requests (60 s at most).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
"$here/fetch.sh"

if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
  echo "sabot kafka: a broker is already running from $dir (pid $(cat "$dir/pid"))" >&2
  exit 1
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

java_cmd=(java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -Djava.awt.headless=true -Dsabot.kafka.dir="$dir"
  -Dlog4j2.configurationFile="$here/log4j2.properties"
  -cp "$(cat "$here/classpath.txt")")

# Writes the configuration of a new DIR, with free ports, and formats its storage.
configure() {
  port=$(free_port)
  controller_port=$(free_port)
  while [ "$controller_port" = "$port" ]; do controller_port=$(free_port); done
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
transaction.abort.timed.out.transaction.cleanup.interval.ms=5000
PROPS
  echo "127.0.0.1:$port" > "$dir/bootstrap"
  # Not starting with "-", which the storage tool would take for an option (1 in 64 of
  # random ids; Kafka's own random-uuid draws again for the same reason).
  cluster_id=$(python3 -c '
import base64, uuid
while True:
    text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not text.startswith("-"):
        print(text)
        break')
  "${java_cmd[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$dir/server.properties" > "$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; exit 1; }
}

# How many times the broker of DIR logged that it started.
times_started() {
  local count
  count=$(grep -cs "Kafka Server started" "$dir/broker.log" || true)
  echo "${count:-0}"
}

# Starts the broker of DIR and waits until it answers. Returns 1 when it exited during
# start-up, 2 when it did not answer within 60 s.
start() {
  bootstrap=$(cat "$dir/bootstrap")
  # broker.log is appended to across restarts: this start is the next "started" line.
  # Without it, an answer on the port could come from another broker that took it.
  local started_before
  started_before=$(times_started)
  nohup "${java_cmd[@]}" kafka.Kafka "$dir/server.properties" > "$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
  for _ in $(seq 1 120); do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      return 1
    fi
    if [ "$(times_started)" -gt "$started_before" ] &&
       kcat -b "$bootstrap" -L -m 2 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  return 2
}

new_dir=false
if [ ! -f "$dir/server.properties" ]; then
  new_dir=true
  configure
fi
# A free port can be taken by another process between the check and the broker's bind
# (tests start brokers in parallel): a new DIR then gets other ports, three times at most.
for attempt in 1 2 3; do
  status=0
  start || status=$?
  if [ "$status" = 0 ]; then
    echo "$bootstrap"
    exit 0
  fi
  if [ "$status" = 2 ]; then
    echo "sabot kafka: the broker did not answer on $bootstrap within 60 s; see $dir/broker.log" >&2
    exit 1
  fi
  if $new_dir && [ "$attempt" -lt 3 ] &&
     grep -qs "Address already in use" "$dir/stdout.log" "$dir/broker.log"; then
    rm -rf "$dir/data" "$dir/server.properties" "$dir/bootstrap" "$dir/pid" \
      "$dir/stdout.log" "$dir/broker.log"
    configure
    continue
  fi
  echo "sabot kafka: the broker exited during start-up; see $dir/stdout.log and broker.log" >&2
  tail -20 "$dir/stdout.log" >&2 || true
  exit 1
done
