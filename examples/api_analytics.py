"""Windowed analytics over API request logs with Sabot's dataflow API (sb.Stream).

    python examples/api_analytics.py                       # 6000 requests, embedded
    python examples/api_analytics.py --requests 20000 --seed 3

A seeded generator produces request events

    {request_id, endpoint, method, status, response_ms, ts}

where `ts` is the event time in int64 milliseconds. They arrive in the order a log
collector would see them: about one in ten is delayed by up to 3 seconds, so the stream
is out of order. `with_watermark("ts", max_delay=3)` lets windows wait for such rows;
no row is later than that, so no row is dropped. There is also a checkout incident
(a burst of 5xx errors and slow responses) in the middle of the run.

Three windowed queries, each run by the C++ engine on Arrow batches (no Python per row):

(a) traffic: 10 s tumbling windows over *all* endpoints (global): a constant column
    `scope` is added with select() and used as the key. Request count and average
    response time per window.
(b) error rate: 30 s windows sliding by 10 s, also global. `is_error` is the expression
    column (status >= 500) cast to int64; the window sums it and counts requests, and a
    select() after the aggregate divides the two.
(c) per endpoint: 15 s tumbling windows keyed by `endpoint`: request count, average and
    maximum response time.

`run_analytics(...)` returns the three results as lists of dicts (the tests check them
against DuckDB over the same generated requests).
"""

from __future__ import annotations

import argparse
import datetime
import random

import pyarrow as pa

import sabot as sb

START_MS = 1_767_258_000_000  # 2026-01-01T09:00:00Z
MAX_DISORDER_MS = 3000        # a delayed request arrives at most this late (exclusive)

# endpoint -> (share of traffic, HTTP methods, typical response time in ms)
ENDPOINTS = {
    "/api/users":    (0.25, ["GET", "GET", "GET", "PUT"], 35),
    "/api/orders":   (0.20, ["GET", "GET", "POST"], 60),
    "/api/search":   (0.25, ["GET"], 110),
    "/api/checkout": (0.10, ["POST"], 220),
    "/api/login":    (0.10, ["POST"], 80),
    "/health":       (0.10, ["GET"], 3),
}

SCHEMA = pa.schema([
    ("request_id", pa.string()),
    ("endpoint", pa.string()),
    ("method", pa.string()),
    ("status", pa.int64()),
    ("response_ms", pa.int64()),
    ("ts", pa.int64()),
])


def generate_requests(count: int, seed: int = 7, rate_per_second: float = 40.0) -> list:
    """Returns `count` request events in arrival order (deterministic for a seed).

    Requests happen as a Poisson process of `rate_per_second`; response times are
    log-normal around each endpoint's typical time; about 2 % of requests fail with a
    4xx and 0.5 % with a 5xx, except during the incident (from 30 % to 45 % of the run)
    when a third of checkout requests fail with 502/503/504 after a long wait. About one
    request in ten reaches the collector up to 3 s late, which puts the list out of
    event-time order."""
    rng = random.Random(seed)
    names = list(ENDPOINTS)
    weights = [ENDPOINTS[name][0] for name in names]
    duration_ms = count / rate_per_second * 1000
    incident = (START_MS + 0.30 * duration_ms, START_MS + 0.45 * duration_ms)
    events = []
    ts = float(START_MS)
    for i in range(count):
        ts += rng.expovariate(rate_per_second) * 1000
        event_ms = int(ts)
        endpoint = rng.choices(names, weights)[0]
        _, methods, typical = ENDPOINTS[endpoint]
        response_ms = max(1, int(rng.lognormvariate(0, 0.45) * typical))
        roll = rng.random()
        in_incident = incident[0] <= event_ms < incident[1] and endpoint == "/api/checkout"
        if in_incident and roll < 0.33:
            status = rng.choice([502, 503, 504])
            response_ms = rng.randint(1500, 5000)
        elif roll < 0.005:
            status = rng.choice([500, 503])
        elif roll < 0.025:
            status = rng.choice([400, 401, 404, 429])
        else:
            status = 201 if rng.choice(methods) == "POST" and endpoint != "/api/login" else 200
        delay = rng.randrange(MAX_DISORDER_MS) if rng.random() < 0.10 else 0
        events.append((event_ms + delay, i, {
            "request_id": f"req-{i:07d}",
            "endpoint": endpoint,
            "method": rng.choice(methods),
            "status": status,
            "response_ms": response_ms,
            "ts": event_ms,
        }))
    events.sort(key=lambda entry: (entry[0], entry[1]))  # the collector's arrival order
    return [event for _, _, event in events]


def request_stream(events: list, batch_rows: int = 500) -> sb.Stream:
    """The events as a stream of `batch_rows`-row batches in arrival order, with the
    event-time watermark 3 s behind the largest time seen."""
    table = pa.Table.from_pylist(events, schema=SCHEMA)
    return (sb.Stream.from_batches(table.to_batches(max_chunksize=batch_rows))
            .with_watermark("ts", max_delay=MAX_DISORDER_MS / 1000))


def traffic_per_10s(requests: sb.Stream) -> sb.Stream:
    """(a) Global 10 s tumbling windows: requests and average response time."""
    return (requests
            .select("ts", "response_ms", sb.lit("all").alias("scope"))
            .key_by("scope")
            .window(sb.tumbling(10))
            .aggregate(requests=sb.count(), avg_response_ms=sb.avg("response_ms"))
            .select("window_start", "window_end", "requests", "avg_response_ms"))


def error_rate_30s_every_10s(requests: sb.Stream) -> sb.Stream:
    """(b) Global 30 s windows sliding by 10 s: the share of requests with status >= 500."""
    return (requests
            .select("ts", sb.lit("all").alias("scope"),
                    (sb.col("status") >= 500).cast(pa.int64()).alias("is_error"))
            .key_by("scope")
            .window(sb.sliding(size_seconds=30, slide_seconds=10))
            .aggregate(requests=sb.count(), errors=sb.sum("is_error"))
            .select("window_start", "window_end", "requests", "errors",
                    (sb.col("errors").cast(pa.float64()) / sb.col("requests"))
                    .alias("error_rate")))


def endpoint_latency_per_15s(requests: sb.Stream) -> sb.Stream:
    """(c) Per-endpoint 15 s tumbling windows: count, average and max response time."""
    return (requests
            .key_by("endpoint")
            .window(sb.tumbling(15))
            .aggregate(requests=sb.count(), avg_response_ms=sb.avg("response_ms"),
                       max_response_ms=sb.max("response_ms")))


def _clock(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc) \
        .strftime("%H:%M:%S")


def _print_results(result: dict) -> None:
    print("\n(a) Traffic, 10 s tumbling windows (all endpoints)")
    print("    window              requests  avg ms")
    for row in result["traffic"]:
        print(f"    {_clock(row['window_start'])}-{_clock(row['window_end'])}  "
              f"{row['requests']:8}  {row['avg_response_ms']:6.1f}")

    print("\n(b) Error rate (status >= 500), 30 s windows sliding by 10 s")
    print("    window              requests  errors  rate")
    for row in result["error_rates"]:
        bar = "#" * round(row["error_rate"] * 400)
        print(f"    {_clock(row['window_start'])}-{_clock(row['window_end'])}  "
              f"{row['requests']:8}  {row['errors']:6}  {row['error_rate']:6.2%} {bar}")

    print("\n(c) Per endpoint, 15 s tumbling windows: avg / max response ms (requests)")
    endpoints = sorted({row["endpoint"] for row in result["per_endpoint"]})
    cells = {(row["window_start"], row["endpoint"]): row for row in result["per_endpoint"]}
    starts = sorted({row["window_start"] for row in result["per_endpoint"]})
    print("    window   " + "".join(f"{name:>16}" for name in endpoints))
    for start in starts:
        line = f"    {_clock(start)} "
        for name in endpoints:
            row = cells.get((start, name))
            text = "-" if row is None else \
                f"{row['avg_response_ms']:.0f}/{row['max_response_ms']} ({row['requests']})"
            line += f"{text:>16}"
        print(line)


def run_analytics(requests: int = 6000, seed: int = 7, batch_rows: int = 500,
                  quiet: bool = False) -> dict:
    """Generates `requests` events, runs the three windowed queries and returns
    {"events", "traffic", "error_rates", "per_endpoint"}: the generated events and each
    query's rows (lists of dicts sorted by window, then endpoint)."""
    events = generate_requests(requests, seed)
    stream = request_stream(events, batch_rows)
    result = {
        "events": events,
        "traffic": sorted(traffic_per_10s(stream).to_pylist(),
                          key=lambda r: r["window_start"]),
        "error_rates": sorted(error_rate_30s_every_10s(stream).to_pylist(),
                              key=lambda r: r["window_start"]),
        "per_endpoint": sorted(endpoint_latency_per_15s(stream).to_pylist(),
                               key=lambda r: (r["window_start"], r["endpoint"])),
    }
    if not quiet:
        late = sum(1 for before, after in zip(events, events[1:]) if after["ts"] < before["ts"])
        print(f"Sabot API analytics: {len(events)} requests over "
              f"{(max(e['ts'] for e in events) - min(e['ts'] for e in events)) / 1000:.0f} s "
              f"of event time, {late} arriving out of order (by up to "
              f"{MAX_DISORDER_MS // 1000} s)")
        _print_results(result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-rows", type=int, default=500,
                        help="rows per Arrow batch fed to the engine")
    args = parser.parse_args()
    run_analytics(args.requests, args.seed, args.batch_rows)


if __name__ == "__main__":
    main()
