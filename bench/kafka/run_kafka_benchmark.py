#!/usr/bin/env python3
"""Runs the Kafka benchmark against a private broker, next to Kafka's own baselines.

Starts a broker with tools/kafka/start.sh in a temporary directory, creates the topics,
then, on that one broker:

  1. Kafka's ProducerPerformance (140-byte records, acks=all, linger.ms=5, lz4): the
     broker-only produce baseline.
  2. kafka_benchmark produce: fills the input topic with JSON events (librdkafka).
  3. Kafka's ConsumerPerformance over the input topic: the broker-only consume baseline
     for exactly the records Sabot decodes next.
  4. kafka_benchmark decode: FromKafka(JSON) -> Blackhole, records into Arrow batches.
  5. kafka_benchmark codec: the JSON codec alone, no Kafka.
  6. kafka_benchmark pipeline, at-least-once then exactly-once (1 s checkpoints).

Every measurement is printed as one JSON line (the tools' figures converted), then a
summary JSON object with the ratios. The broker is stopped on exit, whatever happens.
CPU seconds of a child (the benchmark or a Java tool, JVM start-up included) come from
getrusage(RUSAGE_CHILDREN); the broker's CPU seconds during each step are read from
/proc and reported beside it as broker_cpu_seconds.

Usage: run_kafka_benchmark.py [--events N] [--binary PATH] [--parallelism P]
                              [--checkpoint-ms MS] [--partitions N] [--min-amount X]
                              [--source-properties K=V,...] [--sink-properties K=V,...]
                              [--keep]
Only the standard library is used.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KAFKA_TOOLS = os.path.join(ROOT, "tools", "kafka")


def log(message):
    print(f"[run_kafka_benchmark] {message}", file=sys.stderr, flush=True)


class Broker:
    """A broker of tools/kafka in a temporary directory; stop() is idempotent."""

    def __init__(self, directory):
        self.directory = directory
        self.bootstrap = None

    def start(self):
        out = subprocess.run(
            [os.path.join(KAFKA_TOOLS, "start.sh"), self.directory],
            check=True, capture_output=True, text=True)
        self.bootstrap = out.stdout.strip().splitlines()[-1]
        with open(os.path.join(self.directory, "pid")) as f:
            self.pid = int(f.read().strip())
        return self.bootstrap

    def cpu_seconds(self):
        """User + system CPU seconds the broker process used so far (0 if unknown)."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime and stime are fields 14 and 15 of stat; [0] here is field 3.
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, AttributeError, IndexError, ValueError):
            return 0.0

    def create_topic(self, topic, partitions):
        subprocess.run(
            [os.path.join(KAFKA_TOOLS, "topic.sh"), self.bootstrap, topic,
             str(partitions)], check=True)

    def stop(self):
        if self.bootstrap is None:
            return
        self.bootstrap = None
        subprocess.run([os.path.join(KAFKA_TOOLS, "stop.sh"), self.directory],
                       check=False)


def run_measured(command, broker, timeout):
    """Runs a command; returns (stdout, child CPU seconds, wall seconds, broker CPU)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    broker_before = broker.cpu_seconds()
    start = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    broker_cpu = broker.cpu_seconds() - broker_before
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise RuntimeError(f"{command[0]} failed with exit code {out.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out.stdout, cpu, wall, broker_cpu


def java_tool(main_class):
    with open(os.path.join(KAFKA_TOOLS, "classpath.txt")) as f:
        classpath = f.read().strip()
    return ["java", "-Xmx1g",
            f"-Dlog4j2.configurationFile={KAFKA_TOOLS}/tools-log4j2.properties",
            "-cp", classpath, main_class]


def emit(result):
    print(json.dumps(result), flush=True)
    return result


def producer_performance(broker, topic, events, timeout):
    command = java_tool("org.apache.kafka.tools.ProducerPerformance") + [
        "--topic", topic, "--num-records", str(events), "--record-size", "140",
        "--throughput", "-1", "--producer-props", f"bootstrap.servers={broker.bootstrap}",
        "acks=all", "linger.ms=5", "compression.type=lz4"]
    out, cpu, wall, broker_cpu = run_measured(command, broker, timeout)
    # The last line: "N records sent, R records/sec (M MB/sec), L ms avg latency, ..."
    summary = [line for line in out.splitlines() if "records sent" in line][-1]
    match = re.search(r"([\d.]+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), "
                      r"([\d.]+) ms avg latency", summary)
    sent, rate, mb, latency = (float(g) for g in match.groups())
    return emit({"benchmark": "kafka", "mode": "baseline_producer_performance",
                 "tool": "org.apache.kafka.tools.ProducerPerformance", "topic": topic,
                 "events": int(sent), "record_bytes": 140,
                 "events_per_second": round(rate),
                 "events_per_cpu_second": round(sent / cpu), "mb_per_second": mb,
                 "avg_latency_ms": latency, "process_wall_seconds": round(wall, 3),
                 "cpu_seconds": round(cpu, 3), "broker_cpu_seconds": round(broker_cpu, 3)})


def consumer_performance(broker, topic, events, timeout):
    command = java_tool("org.apache.kafka.tools.ConsumerPerformance") + [
        "--bootstrap-server", broker.bootstrap, "--topic", topic,
        "--num-records", str(events), "--timeout", "60000"]
    out, cpu, wall, broker_cpu = run_measured(command, broker, timeout)
    # A header line of names and one line of values, comma-separated.
    lines = [line for line in out.splitlines() if line.strip()]
    header = next(i for i, line in enumerate(lines) if line.startswith("start.time"))
    names = [name.strip() for name in lines[header].split(",")]
    values = [value.strip() for value in lines[header + 1].split(",")]
    row = dict(zip(names, values))
    consumed = int(float(row["data.consumed.in.nMsg"]))
    return emit({"benchmark": "kafka", "mode": "baseline_consumer_performance",
                 "tool": "org.apache.kafka.tools.ConsumerPerformance", "topic": topic,
                 "events": consumed,
                 "events_per_second": round(float(row["nMsg.sec"])),
                 "fetch_events_per_second": round(float(row["fetch.nMsg.sec"])),
                 "events_per_cpu_second": round(consumed / cpu),
                 "mb_per_second": float(row["MB.sec"]),
                 "rebalance_ms": float(row["rebalance.time.ms"]),
                 "process_wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
                 "broker_cpu_seconds": round(broker_cpu, 3)})


def sabot(binary, broker, arguments, timeout):
    out, _, wall, broker_cpu = run_measured([binary] + arguments, broker, timeout)
    results = []
    for line in out.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
            result["process_wall_seconds"] = round(wall, 3)
            result["broker_cpu_seconds"] = round(broker_cpu, 3)
            results.append(emit(result))
    return results


def ratio(numerator, denominator):
    return round(numerator / denominator, 3) if denominator else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--binary", default=os.path.join(
        ROOT, "build", "bench", "kafka", "kafka_benchmark"))
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument("--checkpoint-ms", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--min-amount", type=float, default=2500)
    parser.add_argument("--source-properties", default="",
                        help="librdkafka settings for Sabot's source, name=value,...")
    parser.add_argument("--sink-properties", default="",
                        help="librdkafka settings for Sabot's sink, name=value,...")
    parser.add_argument("--keep", action="store_true",
                        help="keep the broker's directory (data and logs)")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found; build the kafka_benchmark target or pass "
                 "--binary")
    timeout = max(600, args.events // 5_000)
    # SIGTERM unwinds like Ctrl-C, so that the broker is stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    directory = tempfile.mkdtemp(prefix="sabot-kafka-benchmark-")
    broker = Broker(os.path.join(directory, "broker"))
    try:
        log(f"starting a broker in {directory}")
        bootstrap = broker.start()
        log(f"broker at {bootstrap}; creating topics")
        for topic in ["baseline", "events", "out-alo", "out-eos"]:
            broker.create_topic(topic, args.partitions)
        common = ["--bootstrap", bootstrap, "--parallelism", str(args.parallelism)]
        if args.source_properties:
            common += ["--source-properties", args.source_properties]
        pipeline = common + ["--input", "events", "--checkpoint-ms",
                             str(args.checkpoint_ms), "--min-amount",
                             str(args.min_amount)]
        if args.sink_properties:
            pipeline += ["--sink-properties", args.sink_properties]

        log("baseline: ProducerPerformance")
        producer = producer_performance(broker, "baseline", args.events, timeout)
        log("kafka_benchmark produce")
        produced = sabot(args.binary, broker, ["produce", "--bootstrap", bootstrap,
                                               "--topic", "events", "--events",
                                               str(args.events)], timeout)[0]
        log("baseline: ConsumerPerformance")
        consumer = consumer_performance(broker, "events", args.events, timeout)
        log("kafka_benchmark decode")
        decode = sabot(args.binary, broker,
                       ["decode", "--topic", "events"] + common, timeout)[0]
        log("kafka_benchmark codec")
        codec = sabot(args.binary, broker,
                      ["codec", "--events", str(min(args.events, 2_000_000))], timeout)
        log("kafka_benchmark pipeline at-least-once")
        alo = sabot(args.binary, broker, ["pipeline", "--guarantee", "alo", "--output",
                                          "out-alo"] + pipeline, timeout)[0]
        log("kafka_benchmark pipeline exactly-once")
        eos = sabot(args.binary, broker, ["pipeline", "--guarantee", "eos", "--output",
                                          "out-eos"] + pipeline, timeout)[0]

        summary = {
            "benchmark": "kafka", "mode": "summary", "events": args.events,
            "partitions": args.partitions, "parallelism": args.parallelism,
            "checkpoint_ms": args.checkpoint_ms, "cores": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "source_properties": args.source_properties,
            "sink_properties": args.sink_properties,
            "baseline_producer_events_per_second": producer["events_per_second"],
            "sabot_produce_events_per_second": produced["events_per_second"],
            "baseline_consumer_events_per_second": consumer["events_per_second"],
            "baseline_consumer_events_per_cpu_second": consumer["events_per_cpu_second"],
            "decode_events_per_second": decode["events_per_second"],
            "decode_events_per_cpu_second": decode["events_per_cpu_second"],
            "codec_decode_events_per_cpu_second": codec[0]["events_per_cpu_second"],
            "alo_events_per_second": alo["events_per_second"],
            "alo_events_per_cpu_second": alo["events_per_cpu_second"],
            "eos_events_per_second": eos["events_per_second"],
            "eos_events_per_cpu_second": eos["events_per_cpu_second"],
            # > 1: Sabot decoding into Arrow is faster than Kafka's consumer, which
            # only counts records; < 1: the share of the consumer's rate Sabot keeps.
            "decode_vs_consumer_wall": ratio(decode["events_per_second"],
                                             consumer["events_per_second"]),
            "decode_vs_consumer_per_cpu": ratio(decode["events_per_cpu_second"],
                                                consumer["events_per_cpu_second"]),
            "eos_vs_alo_wall": ratio(eos["events_per_second"], alo["events_per_second"]),
            "eos_vs_alo_per_cpu": ratio(eos["events_per_cpu_second"],
                                        alo["events_per_cpu_second"]),
            "goal_decode_1m_per_cpu_second": decode["events_per_cpu_second"] >= 1e6,
            "goal_eos_within_15_percent_of_alo":
                eos["events_per_second"] >= 0.85 * alo["events_per_second"],
        }
        emit(summary)
    finally:
        log("stopping the broker")
        broker.stop()
        if args.keep:
            log(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
