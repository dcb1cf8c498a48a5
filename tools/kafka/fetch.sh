#!/usr/bin/env bash
# Resolves the Kafka broker and tools jars (pom.xml) into tools/kafka/m2 and writes the
# runtime classpath to tools/kafka/classpath.txt. Does nothing when that is up to date.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -s "$here/classpath.txt" ] && [ "$here/classpath.txt" -nt "$here/pom.xml" ]; then
  exit 0
fi
echo "sabot kafka: fetching the Apache Kafka jars with Maven into $here/m2" >&2
mvn -q -B -f "$here/pom.xml" -Dmaven.repo.local="$here/m2" \
  dependency:build-classpath -Dmdep.outputFile="$here/classpath.txt.tmp" >&2
mv "$here/classpath.txt.tmp" "$here/classpath.txt"
