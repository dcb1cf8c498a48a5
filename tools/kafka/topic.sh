#!/usr/bin/env bash
# Creates a topic on a broker started by start.sh:
#   tools/kafka/topic.sh BOOTSTRAP TOPIC PARTITIONS [CONFIG=VALUE ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 3 ] || { echo "usage: $0 BOOTSTRAP TOPIC PARTITIONS [CONFIG=VALUE ...]" >&2; exit 2; }
bootstrap=$1 topic=$2 partitions=$3
shift 3
configs=()
for c in "$@"; do configs+=(--config "$c"); done
"$here/fetch.sh"
java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$here/tools-log4j2.properties" \
  -cp "$(cat "$here/classpath.txt")" org.apache.kafka.tools.TopicCommand \
  --bootstrap-server "$bootstrap" --create --topic "$topic" --partitions "$partitions" \
  --replication-factor 1 "${configs[@]}" >/dev/null
