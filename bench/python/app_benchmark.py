#!/usr/bin/env python3
"""Python App benchmarks, one JSON line per measurement.

    .venv/bin/python bench/python/app_benchmark.py [--events N] [--modes a,b,...]

Modes (broker memory://, one worker process, input loaded before the clock starts):

- per_record: an agent reads JSON dicts and yields a dict per event to a sink topic
  (``v["fee"] = v["amount"] * 0.01; yield v``).
- batches: an agent reads pyarrow RecordBatches (topic serializer 'arrow', 64 Ki rows
  per message) and computes with pyarrow.compute (filter amount > 2500, sum per batch).
- json_batches: the same computation over one JSON message per event, on a topic with a
  declared schema (the engine's JSON codec decodes each poll) and, in the same run, on
  one without (batches built from orjson-decoded dicts).
- fraud: the fraud demo's agent over generated transactions: whole batches of a topic
  with a schema, the rules over arrays (examples/fraud_batch.py), histories in a table.
- fraud_per_record: the same rules one transaction dict at a time
  (examples/fraud_rules.check_account), for comparison.

"per CPU second" is events divided by the process's user + system CPU time while the
worker ran; wall-clock throughput is beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "examples"))

import sabot as sb  # noqa: E402


def measure(mode: str, events: int, app: "sb.App", extra: dict) -> dict:
    cpu = time.process_time()
    wall = time.perf_counter()
    app.run(until_idle=True, idle_seconds=0.05)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    result = {"benchmark": "python_app", "mode": mode, "events": events,
              "wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
              "events_per_second": round(events / wall), "events_per_cpu_second":
              round(events / cpu)}
    result.update(extra)
    return result


def per_record(events: int) -> dict:
    app = sb.App("bench-per-record")
    source = app.topic("in", partitions=1)
    sink = app.topic("out", partitions=1)

    @app.agent(source, sink=[sink])
    async def enrich(stream):
        async for value in stream:
            value["fee"] = value["amount"] * 0.01
            yield value

    source.send_many([{"id": i, "account": i % 10_000, "amount": (i % 5000) + 0.5,
                       "city": "Paris"} for i in range(events)])
    result = measure("per_record", events, app, {})
    result["output_events"] = sum(sink.end_offsets())
    return result


def batch_agent(app: "sb.App", source: "sb.Topic") -> list:
    """Registers the batch modes' agent on `source`: per batch, the sum of the amounts
    above 2500 (pyarrow compute), appended to the returned list."""
    totals = []

    @app.agent(source)
    async def analyze(stream):
        async for batch in stream.batches():
            large = batch.filter(pc.greater(batch["amount"], 2500.0))
            totals.append(pc.sum(large["amount"]).as_py())

    return totals


def batches(events: int, rows_per_message: int = 65_536) -> dict:
    app = sb.App("bench-batches")
    source = app.topic("in", partitions=1, value_serializer="arrow")
    totals = batch_agent(app, source)

    for start in range(0, events, rows_per_message):
        n = min(rows_per_message, events - start)
        ids = pa.array(range(start, start + n), pa.int64())
        source.send_sync(value=pa.record_batch({
            "id": ids, "account": pc.remainder(ids, 10_000),
            "amount": pc.add(pc.cast(pc.remainder(ids, 5000), pa.float64()), 0.5)}))
    result = measure("batches", events, app, {"rows_per_message": rows_per_message})
    result["batches"] = len(totals)
    return result


def json_batches(events: int) -> dict:
    """A batch agent over a JSON topic: with the topic's schema declared, the engine's
    JSON codec decodes each poll into a RecordBatch; without one, the batch is built
    from the values orjson decoded (the path before schemas were used). Both run here
    on the same messages."""
    schema = pa.schema([("id", pa.int64()), ("account", pa.int64()),
                        ("amount", pa.float64()), ("city", pa.string())])
    rows = [{"id": i, "account": i % 10_000, "amount": (i % 5000) + 0.5, "city": "Paris"}
            for i in range(events)]
    results = {}
    for name, topic_schema in (("engine_codec", schema), ("dicts", None)):
        app = sb.App(f"bench-json-batches-{name}")
        source = app.topic("in", partitions=1, schema=topic_schema)
        batch_agent(app, source)
        source.send_many(rows)
        results[name] = measure("json_batches", events, app, {"decode": name})
    result = results["engine_codec"]
    result["dicts_events_per_cpu_second"] = results["dicts"]["events_per_cpu_second"]
    result["engine_codec_vs_dicts_per_cpu"] = round(
        result["events_per_cpu_second"] / results["dicts"]["events_per_cpu_second"], 2)
    return result


def fraud(events: int, per_record: bool = False) -> dict:
    from fraud_app import TRANSACTION, generate
    from fraud_batch import BatchChecker
    from fraud_rules import check_account, new_history

    app = sb.App("bench-fraud")
    transactions = app.topic("transactions", partitions=4,
                             schema=None if per_record else TRANSACTION)
    alerts = app.topic("alerts")
    accounts = app.Table("accounts", default=new_history)

    if per_record:
        @app.agent(transactions, sink=[alerts])
        async def detect(stream):
            async for txn in stream:
                for alert in check_account(txn, accounts):
                    yield alert
    else:
        @app.agent(transactions, sink=[alerts])
        async def detect_batches(stream):
            checker = BatchChecker(accounts)
            async for batch in stream.batches():
                for alert in checker.check(batch):
                    yield alert

    rows = list(generate(events))
    transactions.send_many(rows, keys=[t["account_number"] for t in rows])
    result = measure("fraud_per_record" if per_record else "fraud", events, app, {})
    result["alerts"] = sum(alerts.end_offsets())
    result["accounts"] = len(accounts)
    return result


def fraud_per_record(events: int) -> dict:
    return fraud(events, per_record=True)


MODES = {"per_record": per_record, "batches": batches, "json_batches": json_batches,
         "fraud": fraud, "fraud_per_record": fraud_per_record}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-events", type=int, default=20_000_000)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    for mode in args.modes.split(","):
        events = args.batch_events if mode == "batches" else args.events
        print(json.dumps(MODES[mode](events)), flush=True)


if __name__ == "__main__":
    main()
