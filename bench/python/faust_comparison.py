#!/usr/bin/env python3
"""Sabot's per-record agent next to Faust's on the same Kafka topic, in one run.

    .venv/bin/python bench/python/faust_comparison.py [--events 200000] [--bootstrap HOST:PORT]

Both run the same agent over the same topic of JSON events: decode each value to a
dict, add a field, send the dict to a sink topic. The script fills the input topic,
then runs a Sabot worker and a Faust worker (faust-streaming, in its own venv
`.venv-faust`, created on first use from requirements-faust.txt) one after the other,
each as its own process. Each worker measures from its first message to its last (so
consumer-group joins and start-up are excluded) the wall time and its process's CPU
time (user + system). After each worker the script counts the records in its sink topic
(end offsets) and fails unless they equal the input. Without --bootstrap a private broker
is started with tools/kafka/start.sh and stopped at the end. Prints one JSON line per
worker and a summary with the ratios.

Faust runs as its docs advise for throughput (uvloop, orjson, -l info, no web server) with
its producer's linger raised from 0 to 50 ms so that it sends full batches; acks are all
in both. See FAUST_WORKER for each setting and why. --profile-faust FILE writes a
cProfile (in CPU time) of the Faust worker from its first message to its last (read it
with pstats; profiling slows that run, so its figures don't count).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
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
    # uvloop, which Faust's docs recommend (faust-streaming[uvloop]): this is how mode (and
    # so Faust) takes it, before faust is imported. orjson, in requirements-faust.txt, is
    # picked up by faust.utils.json by itself.
    import mode.loop
    mode.loop.use("uvloop")
    import asyncio, json, logging, os, resource, sys, time
    import faust
    import faust.utils.json

    bootstrap, source_name, sink_name, events = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    profile = sys.argv[5] if len(sys.argv) > 5 else ""
    # producer_linger_ms: at Faust's default of 0 aiokafka sends a produce request for
    # nearly every message, and even at Sabot's 5 ms (librdkafka linger.ms=5) it sends one
    # for every 2 (Faust passes ~2 K messages a second here, so few gather in 5 ms). 50 ms
    # fills batches: 25 % more events per CPU-second than 5 ms; 100 ms adds a few % more.
    # acks stay at Faust's default, all, as in Sabot's producer.
    app = faust.App("faust-bench-" + source_name, broker=f"kafka://{bootstrap}",
                    store="memory://", value_serializer="json", topic_partitions=4,
                    producer_linger_ms=50, web_enabled=False)
    source = app.topic(source_name, value_serializer="json")
    sink = app.topic(sink_name, value_serializer="json")
    marks = {"count": 0}
    profiler = None

    def cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    @app.agent(source, sink=[sink])
    async def enrich(stream):
        global profiler
        async for value in stream:
            if marks["count"] == 0:
                marks["setup"] = {
                    "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                    "json": "orjson" if faust.utils.json.orjson is not None else "json",
                    "root_log_level":
                        logging.getLevelName(logging.getLogger().getEffectiveLevel()),
                    "producer_linger_ms": app.conf.producer_linger_ms,
                    "producer_acks": app.conf.producer_acks}
                if profile:
                    import cProfile
                    profiler = cProfile.Profile(time.process_time)  # CPU, not wall
                    profiler.enable()
                marks["first"], marks["cpu_first"] = time.perf_counter(), cpu()
            value["fee"] = value["amount"] * 0.01
            yield value
            marks["count"] += 1
            if marks["count"] == events:
                await app.producer.flush()
                marks["last"], marks["cpu_last"] = time.perf_counter(), cpu()
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(profile)
                print(json.dumps(marks), flush=True)
                os._exit(0)

    # -l info, the level of every worker command in Faust's docs. At warn (Faust's default)
    # the worker sets the root logger to DEBUG for its start-up progress spinner and leaves
    # it there, so each of the 4 logger.debug calls a message meets in faust and aiokafka
    # builds a LogRecord (findCaller and all) that no handler prints.
    sys.argv = [sys.argv[0], "worker", "-l", "info", "--without-web"]
    app.main()
""")


def ensure_faust_venv() -> str:
    """Creates .venv-faust, and installs requirements-faust.txt whenever it changed."""
    python = os.path.join(FAUST_VENV, "bin", "python")
    requirements = os.path.join(ROOT, "bench", "python", "requirements-faust.txt")
    stamp = os.path.join(FAUST_VENV, "requirements-faust.txt")
    with open(requirements) as f:
        wanted = f.read()
    if not os.path.exists(python):
        subprocess.run(["python3", "-m", "venv", FAUST_VENV], check=True)
    installed = None
    if os.path.exists(stamp):
        with open(stamp) as f:
            installed = f.read()
    if installed != wanted:
        subprocess.run([python, "-m", "pip", "install", "-q", "-r", requirements], check=True)
        with open(stamp, "w") as f:
            f.write(wanted)
    return python


def run_worker(python: str, script: str, args: list, env: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as out:
        out.write(script)
    # In a scratch directory: Faust keeps a data directory (<app id>-data) in its cwd.
    try:
        with tempfile.TemporaryDirectory(prefix="sabot-bench-worker-") as cwd:
            result = subprocess.run([python, out.name, *args], capture_output=True,
                                    text=True, timeout=1800, env=env, cwd=cwd)
    finally:
        os.unlink(out.name)
    # Faust sends a worker's stdout to its log (stderr): find the marks in either.
    lines = [line[line.index('{"count"'):] for line in
             (result.stdout + "\n" + result.stderr).splitlines() if '{"count"' in line]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"worker failed ({result.returncode}): {result.stderr[-3000:]}")
    return json.loads(lines[-1])


def sink_count(bootstrap: str, topic: str, events: int) -> int:
    """Records in the sink topic (sum of its end offsets), waiting up to 10 s for all."""
    import sabot as sb
    deadline = time.monotonic() + 10
    while True:
        count = sum(sb._sabot.kafka_end_offsets(bootstrap, topic))
        if count >= events or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def figures(name: str, marks: dict, events: int, output: int) -> dict:
    if marks["count"] != events or output != events:
        raise RuntimeError(f"{name}: {events} events in, {marks['count']} processed, "
                           f"{output} in the sink topic")
    wall = marks["last"] - marks["first"]
    cpu = marks["cpu_last"] - marks["cpu_first"]
    result = {"benchmark": "faust_comparison", "engine": name, "events": events,
              "processed": marks["count"], "output": output, "wall_seconds": round(wall, 3),
              "cpu_seconds": round(cpu, 3), "events_per_second": round(events / wall),
              "events_per_cpu_second": round(events / cpu)}
    if "setup" in marks:
        result["setup"] = marks["setup"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--profile-faust", metavar="FILE", default=None,
                        help="write a cProfile of the Faust worker's processing to FILE")
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
        sabot_sink = f"sabot-out-{run_id}"
        sabot_marks = run_worker(sys.executable, SABOT_WORKER,
                                 [bootstrap, source_name, sabot_sink, str(args.events)], env)
        sabot = figures("sabot", sabot_marks, args.events,
                        sink_count(bootstrap, sabot_sink, args.events))
        print(json.dumps(sabot), flush=True)
        faust_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        faust_sink = f"faust-out-{run_id}"
        faust_args = [bootstrap, source_name, faust_sink, str(args.events)]
        if args.profile_faust:
            faust_args.append(os.path.abspath(args.profile_faust))
        faust_marks = run_worker(faust_python, FAUST_WORKER, faust_args, faust_env)
        faust = figures("faust", faust_marks, args.events,
                        sink_count(bootstrap, faust_sink, args.events))
        if args.profile_faust:
            faust["profiled"] = True
        print(json.dumps(faust), flush=True)
        print(json.dumps({
            "benchmark": "faust_comparison", "mode": "summary", "events": args.events,
            "sabot_vs_faust_wall": round(sabot["events_per_second"] / faust["events_per_second"], 2),
            "sabot_vs_faust_per_cpu": round(sabot["events_per_cpu_second"] /
                                            faust["events_per_cpu_second"], 2),
            "goal_sabot_300k_per_cpu_second": sabot["events_per_cpu_second"] >= 300_000,
            **({"faust_profiled": True} if args.profile_faust else {}),
        }), flush=True)
    finally:
        if broker_dir is not None:
            subprocess.run([os.path.join(ROOT, "tools", "kafka", "stop.sh"), broker_dir],
                           capture_output=True)


if __name__ == "__main__":
    main()
