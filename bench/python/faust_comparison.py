#!/usr/bin/env python3
"""Sabot's per-record agent next to Faust's on the same Kafka topic, in one run.

    .venv/bin/python bench/python/faust_comparison.py [--events 200000] [--bootstrap HOST:PORT]

Both run the same agent over the same topic of JSON events: decode each value to a
dict, add a field, send the dict to a sink topic. The script fills the input topic,
then runs a Sabot worker and a Faust worker (faust-streaming, in its own venv
`.venv-faust`, created on first use from requirements-faust.txt) one after the other,
each as its own process. Each worker measures from its first message to its last (so
consumer-group joins and start-up are excluded) the wall time and its process's CPU
time (user + system). Without --bootstrap a private broker is started with
tools/kafka/start.sh and stopped at the end. Prints one JSON line per worker and a
summary with the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAUST_VENV = os.path.join(ROOT, ".venv-faust")

# Both workers print {"first": t, "last": t, "cpu_first": c, "cpu_last": c, "count": n}.
SABOT_WORKER = textwrap.dedent("""
    import json, resource, sys, time
    import sabot as sb

    bootstrap, source_name, sink_name, events = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    app = sb.App("sabot-bench", broker=f"kafka://{bootstrap}")
    source = app.topic(source_name, partitions=4)
    sink = app.topic(sink_name, partitions=4)
    marks = {"count": 0}

    def cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    @app.agent(source, sink=[sink], concurrency=1)
    async def enrich(stream):
        async for value in stream:
            if marks["count"] == 0:
                marks["first"], marks["cpu_first"] = time.perf_counter(), cpu()
            value["fee"] = value["amount"] * 0.01
            yield value
            marks["count"] += 1
            if marks["count"] == events:
                app._flush_topics()
                marks["last"], marks["cpu_last"] = time.perf_counter(), cpu()
                app.stop()

    app.run()
    print(json.dumps(marks))
""")

FAUST_WORKER = textwrap.dedent("""
    import json, os, resource, sys, time
    import faust

    bootstrap, source_name, sink_name, events = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    app = faust.App("faust-bench-" + source_name, broker=f"kafka://{bootstrap}",
                    store="memory://", value_serializer="json", topic_partitions=4)
    source = app.topic(source_name, value_serializer="json")
    sink = app.topic(sink_name, value_serializer="json")
    marks = {"count": 0}

    def cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    @app.agent(source, sink=[sink])
    async def enrich(stream):
        async for value in stream:
            if marks["count"] == 0:
                marks["first"], marks["cpu_first"] = time.perf_counter(), cpu()
            value["fee"] = value["amount"] * 0.01
            yield value
            marks["count"] += 1
            if marks["count"] == events:
                await app.producer.flush()
                marks["last"], marks["cpu_last"] = time.perf_counter(), cpu()
                print(json.dumps(marks), flush=True)
                os._exit(0)

    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()
""")


def ensure_faust_venv() -> str:
    python = os.path.join(FAUST_VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run(["python3", "-m", "venv", FAUST_VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "-r",
                        os.path.join(ROOT, "bench", "python", "requirements-faust.txt")],
                       check=True)
    return python


def run_worker(python: str, script: str, args: list, env: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as out:
        out.write(script)
    try:
        result = subprocess.run([python, out.name, *args], capture_output=True, text=True,
                                timeout=1800, env=env)
    finally:
        os.unlink(out.name)
    # Faust sends a worker's stdout to its log (stderr): find the marks in either.
    lines = [line[line.index('{"count"'):] for line in
             (result.stdout + "\n" + result.stderr).splitlines() if '{"count"' in line]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"worker failed ({result.returncode}): {result.stderr[-3000:]}")
    return json.loads(lines[-1])


def figures(name: str, marks: dict, events: int) -> dict:
    wall = marks["last"] - marks["first"]
    cpu = marks["cpu_last"] - marks["cpu_first"]
    return {"benchmark": "faust_comparison", "engine": name, "events": events,
            "processed": marks["count"], "wall_seconds": round(wall, 3),
            "cpu_seconds": round(cpu, 3), "events_per_second": round(events / wall),
            "events_per_cpu_second": round(events / cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args()

    broker_dir = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        broker_dir = tempfile.mkdtemp(prefix="sabot-faust-bench-")
        started = subprocess.run([os.path.join(ROOT, "tools", "kafka", "start.sh"), broker_dir],
                                 capture_output=True, text=True, check=True)
        bootstrap = started.stdout.strip().splitlines()[-1]
    try:
        faust_python = ensure_faust_venv()
        sys.path.insert(0, os.path.join(ROOT, "python"))
        import sabot as sb

        run_id = uuid.uuid4().hex[:8]
        source_name = f"bench-events-{run_id}"
        app = sb.App("bench-producer", broker=f"kafka://{bootstrap}")
        source = app.topic(source_name, partitions=4)
        chunk = 50_000
        for start in range(0, args.events, chunk):
            source.send_many([{"id": i, "account": i % 10_000, "amount": (i % 5000) + 0.5,
                               "city": "Paris"} for i in range(start, min(args.events,
                                                                          start + chunk))])
        # The broker does not create topics on first use; Faust expects its sink to exist.
        for name in (f"sabot-out-{run_id}", f"faust-out-{run_id}"):
            sb._sabot.kafka_ensure_topic(bootstrap, name, 4)
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
        sabot = figures("sabot", run_worker(sys.executable, SABOT_WORKER,
                                            [bootstrap, source_name, f"sabot-out-{run_id}",
                                             str(args.events)], env), args.events)
        print(json.dumps(sabot), flush=True)
        faust_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        faust = figures("faust", run_worker(faust_python, FAUST_WORKER,
                                            [bootstrap, source_name, f"faust-out-{run_id}",
                                             str(args.events)], faust_env), args.events)
        print(json.dumps(faust), flush=True)
        print(json.dumps({
            "benchmark": "faust_comparison", "mode": "summary", "events": args.events,
            "sabot_vs_faust_wall": round(sabot["events_per_second"] / faust["events_per_second"], 2),
            "sabot_vs_faust_per_cpu": round(sabot["events_per_cpu_second"] /
                                            faust["events_per_cpu_second"], 2),
            "goal_sabot_300k_per_cpu_second": sabot["events_per_cpu_second"] >= 300_000,
        }), flush=True)
    finally:
        if broker_dir is not None:
            subprocess.run([os.path.join(ROOT, "tools", "kafka", "stop.sh"), broker_dir],
                           capture_output=True)


if __name__ == "__main__":
    main()
