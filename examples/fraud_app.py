"""Fraud detection with Sabot: the main job of `make demo`.

    python examples/fraud_app.py --transactions 200000        # embedded, no servers
    sabot -A fraud_app:app worker                              # as a worker (from examples/)

Transactions arrive on the topic `transactions` keyed by account. The agent `detect`
checks each against the account's history (examples/fraud_rules.py: VELOCITY,
AMOUNT_ANOMALY, GEO_IMPOSSIBLE), keeps that history in the table `accounts`, and yields
alerts to the topic `alerts`, where the agent `report` counts and prints them.

`detect` reads whole batches: the topic declares its schema, so the engine's JSON codec
decodes each poll into one RecordBatch, and examples/fraud_batch.py runs the rules over
it with array operations, raising exactly the alerts of the per-transaction rules.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

import sabot as sb  # noqa: E402
from fraud_batch import BatchChecker, check_each  # noqa: E402
from fraud_rules import CITIES, new_history  # noqa: E402

TRANSACTION = pa.schema([
    ("transaction_id", pa.string()), ("account_number", pa.int64()),
    ("user_id", pa.string()), ("transaction_amount", pa.float64()),
    ("currency", pa.string()), ("branch_city", pa.string()), ("country", pa.string()),
    ("merchant_category", pa.string()), ("timestamp_ms", pa.int64()),
    ("sent_ns", pa.int64()),  # set by run_demo's producer, for the latency figures
])

app = sb.App("fraud-detection")
transactions = app.topic("transactions", partitions=4, schema=TRANSACTION)
alerts = app.topic("alerts")
accounts = app.Table("accounts", default=new_history)

stats = {"processed": 0, "alerts": Counter(), "latencies_ns": [], "printed": 0,
         "generator_cpu": 0.0, "rejected": 0,
         "print_limit": 20, "first_ns": None, "last_ns": None}


@app.agent(transactions, sink=[alerts], name="detect")
async def detect(stream):
    # Made per start of the agent: after a restart it reads the histories back from
    # the table, which holds them as of the last whole batch.
    checker = BatchChecker(accounts)
    async for batch in stream.batches():
        try:
            found = checker.check(batch)
        except Exception:  # noqa: BLE001 - a transaction the rules cannot take
            # The checker's columns are half updated and the table is as the batch
            # before left it: a new checker, and this batch one transaction at a time,
            # so that only the transactions that raise are passed over.
            checker = BatchChecker(accounts)
            found = check_each(batch, accounts, reject)
        for alert in found:
            yield alert
        now = time.perf_counter_ns()
        stats["processed"] += batch.num_rows
        stats["last_ns"] = now
        sent = batch.column("sent_ns").drop_null()
        if len(sent):
            stats["latencies_ns"].append(now - sent.to_numpy())


def reject(txn: dict, error: Exception) -> None:
    """A transaction the rules cannot take: counted and logged; it stays in the topic."""
    stats["rejected"] += 1
    print(f"  REJECTED transaction {txn.get('transaction_id')!r} of account "
          f"{txn.get('account_number')!r}: {type(error).__name__}: {error}", file=sys.stderr)


@app.agent(alerts, name="report")
async def report(stream):
    async for alert in stream:
        stats["alerts"][alert["type"]] += 1
        if stats["printed"] < stats["print_limit"]:
            stats["printed"] += 1
            print(f"  ALERT {alert['severity']:8} {alert['type']:15} account "
                  f"{alert['account_number']:>6}  {alert['message']}")


# ---- the transaction generator -----------------------------------------------------

CURRENCIES = {"New York": "USD", "Los Angeles": "USD", "Chicago": "USD", "Toronto": "CAD",
              "Mexico City": "MXN", "São Paulo": "BRL", "London": "GBP", "Paris": "EUR",
              "Berlin": "EUR", "Madrid": "EUR", "Rome": "EUR", "Amsterdam": "EUR",
              "Zurich": "CHF", "Stockholm": "SEK", "Dubai": "AED", "Mumbai": "INR",
              "Singapore": "SGD", "Hong Kong": "HKD", "Tokyo": "JPY", "Sydney": "AUD"}
COUNTRIES = {"New York": "US", "Los Angeles": "US", "Chicago": "US", "Toronto": "CA",
             "Mexico City": "MX", "São Paulo": "BR", "London": "GB", "Paris": "FR",
             "Berlin": "DE", "Madrid": "ES", "Rome": "IT", "Amsterdam": "NL", "Zurich": "CH",
             "Stockholm": "SE", "Dubai": "AE", "Mumbai": "IN", "Singapore": "SG",
             "Hong Kong": "HK", "Tokyo": "JP", "Sydney": "AU"}


def generate(count: int, accounts_count: int = 10_000, seed: int = 42):
    """Yields `count` realistic transactions in event-time order: each account has a home
    city and a typical spend (log-normal); about 1 % of transactions start a burst of
    rapid purchases, 0.5 % are unusually large, and 0.3 % come from another city minutes
    after the previous one."""
    rng = random.Random(seed)
    cities = list(CITIES)
    profiles = []
    for account in range(accounts_count):
        home = rng.choice(cities)
        profiles.append((home, rng.uniform(3.0, 5.5), rng.uniform(0.3, 0.6)))
    ts = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    last_ts = {}
    pending_burst = []
    for i in range(count):
        if pending_burst:
            account, city = pending_burst.pop()
            ts += rng.randint(1, 2000)
        else:
            account = rng.randrange(accounts_count)
            city = profiles[account][0]
            ts += rng.randint(1, 400)
            roll = rng.random()
            if roll < 0.01:
                pending_burst = [(account, city)] * rng.randint(2, 4)
            elif roll < 0.013 and account in last_ts:
                city = rng.choice([c for c in cities if c != profiles[account][0]])
                ts = max(ts, last_ts[account] + rng.randint(60_000, 500_000))
        home, mu, sigma = profiles[account]
        amount = math.exp(rng.gauss(mu, sigma))
        if rng.random() < 0.005:
            amount *= rng.uniform(8, 30)
        last_ts[account] = ts
        yield {
            "transaction_id": f"T{i:09d}",
            "account_number": account,
            "user_id": f"U{account:06d}",
            "transaction_amount": round(amount, 2),
            "currency": CURRENCIES[city],
            "branch_city": city,
            "country": COUNTRIES[city],
            "merchant_category": rng.choice(["grocery", "fuel", "travel", "electronics",
                                             "restaurant", "online"]),
            "timestamp_ms": ts,
        }


def run_demo(count: int, chunk: int = 1000) -> dict:
    """Sends `count` generated transactions while the worker runs, then prints the
    summary; returns the figures."""

    @app.task
    async def produce():
        import asyncio
        # The CPU time of generating and sending, told apart from the agents' time:
        # the agents only run while this task awaits.
        generating = 0.0
        mark = time.process_time()
        batch = []
        for txn in generate(count):
            batch.append(txn)
            if len(batch) == chunk:
                now = time.perf_counter_ns()
                for item in batch:
                    item["sent_ns"] = now
                transactions.send_many(batch, keys=[t["account_number"] for t in batch])
                batch = []
                generating += time.process_time() - mark
                await asyncio.sleep(0)  # let the agents work between chunks
                mark = time.process_time()
        if batch:
            now = time.perf_counter_ns()
            for item in batch:
                item["sent_ns"] = now
            transactions.send_many(batch, keys=[t["account_number"] for t in batch])
        stats["generator_cpu"] = generating + time.process_time() - mark

    print(f"Sabot fraud detection: {count} transactions, broker {app.broker}, "
          f"state {app.state}")
    print("First alerts:")
    cpu_start = time.process_time()
    start = time.perf_counter()
    app.run(until_idle=True, idle_seconds=0.1)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    latencies = np.sort(np.concatenate(stats["latencies_ns"])) if stats["latencies_ns"] \
        else []

    def percentile(p: float) -> float:
        if len(latencies) == 0:
            return 0.0
        return float(latencies[min(len(latencies) - 1, int(p * len(latencies)))]) / 1e6

    summary = {
        "processed": stats["processed"],
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "txn_per_second": round(stats["processed"] / wall) if wall else 0,
        "txn_per_cpu_second": round(stats["processed"] / cpu) if cpu else 0,
        "generator_cpu_seconds": round(stats["generator_cpu"], 3),
        "txn_per_worker_cpu_second": round(stats["processed"] / (cpu - stats["generator_cpu"]))
        if cpu > stats["generator_cpu"] else 0,
        "latency_ms_p50": round(percentile(0.50), 3),
        "latency_ms_p95": round(percentile(0.95), 3),
        "latency_ms_p99": round(percentile(0.99), 3),
        "alerts": dict(sorted(stats["alerts"].items())),
        "accounts": len(accounts),
    }
    print("\nSummary")
    print(f"  processed      {summary['processed']} transactions "
          f"({summary['accounts']} accounts)")
    print(f"  throughput     {summary['txn_per_second']} txn/s wall, "
          f"{summary['txn_per_cpu_second']} txn per CPU-second; "
          f"{summary['txn_per_worker_cpu_second']} without the generator's "
          f"{summary['generator_cpu_seconds']} CPU-s")
    print(f"  latency        p50 {summary['latency_ms_p50']} ms, "
          f"p95 {summary['latency_ms_p95']} ms, p99 {summary['latency_ms_p99']} ms "
          f"(send to verdict)")
    print("  alerts         " + ", ".join(f"{k} {v}" for k, v in summary["alerts"].items()))
    if stats["rejected"]:
        print(f"  rejected       {stats['rejected']} transactions the rules cannot take "
              f"(listed on stderr)")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=200_000)
    parser.add_argument("--print-alerts", type=int, default=20)
    parser.add_argument("-b", "--broker", default=None,
                        help="kafka://host:port to run against Kafka (default: embedded)")
    parser.add_argument("--topic-suffix", default="",
                        help="appended to the topic names (several runs on one broker)")
    args = parser.parse_args()
    stats["print_limit"] = args.print_alerts
    if args.broker:
        app.set_broker(args.broker)
    if args.topic_suffix:
        for topic in (transactions, alerts):
            topic.name = f"{topic.name}-{args.topic_suffix}"
    run_demo(args.transactions)


if __name__ == "__main__":
    main()
