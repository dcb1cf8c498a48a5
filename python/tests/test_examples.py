"""The example programs in examples/: each is run (as a function, and as a script) and
its results are checked against an independent computation over the same generated
input, in plain Python or DuckDB, not through the example's own code paths."""

import importlib
import json
import math
import os
import subprocess
import sys
from collections import Counter, defaultdict

import duckdb
import pyarrow as pa
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "examples")


def load(name):
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    return importlib.import_module(name)


def run_script(name, *args):
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---- examples/api_analytics.py -------------------------------------------------------

def test_api_analytics_windows_match_duckdb_and_python():
    example = load("api_analytics")
    result = example.run_analytics(requests=3000, seed=5, batch_rows=200, quiet=True)
    events = result["events"]
    assert len(events) == 3000
    # The input really is out of order, by less than the watermark delay (3 s), so no
    # row may be dropped as late: every window must count every row.
    running_max = 0
    behind = []
    for event in events:
        behind.append(running_max - event["ts"])
        running_max = max(running_max, event["ts"])
    assert sum(1 for b in behind if b > 0) > 100
    assert 1000 < max(behind) < 3000

    requests = pa.Table.from_pylist(events)  # noqa: F841 - read by DuckDB

    # (a) global 10 s tumbling windows
    want = duckdb.sql("""
        select (ts // 10000) * 10000 as ws, count(*) as n, avg(response_ms) as avg_ms
        from requests group by ws order by ws""").fetchall()
    got = result["traffic"]
    assert [(r["window_start"], r["window_end"], r["requests"]) for r in got] == \
        [(ws, ws + 10000, n) for ws, n, _ in want]
    assert [r["avg_response_ms"] for r in got] == pytest.approx([w[2] for w in want])
    assert sum(r["requests"] for r in got) == 3000

    # (b) 30 s windows sliding by 10 s: each event is in the three windows whose start
    # s (a multiple of 10 s) has s <= ts < s + 30 s.
    counts, errors = Counter(), Counter()
    for event in events:
        first = (event["ts"] // 10000) * 10000
        for start in (first - 20000, first - 10000, first):
            counts[start] += 1
            errors[start] += event["status"] >= 500
    got = result["error_rates"]
    assert [(r["window_start"], r["window_end"], r["requests"], r["errors"]) for r in got] == \
        [(s, s + 30000, counts[s], errors[s]) for s in sorted(counts)]
    assert [r["error_rate"] for r in got] == \
        pytest.approx([errors[s] / counts[s] for s in sorted(counts)])
    # The generated checkout incident shows: the worst window is far above the median.
    rates = sorted(r["error_rate"] for r in got)
    assert rates[-1] > 3 * rates[len(rates) // 2]

    # (c) per-endpoint 15 s tumbling windows
    want = duckdb.sql("""
        select endpoint, (ts // 15000) * 15000 as ws, count(*), avg(response_ms),
               max(response_ms)
        from requests group by all order by ws, endpoint""").fetchall()
    got = result["per_endpoint"]
    assert [(r["endpoint"], r["window_start"], r["window_end"], r["requests"],
             r["max_response_ms"]) for r in got] == \
        [(e, ws, ws + 15000, n, mx) for e, ws, n, _, mx in want]
    assert [r["avg_response_ms"] for r in got] == pytest.approx([w[3] for w in want])
    assert len({r["endpoint"] for r in got}) == 6


def test_api_analytics_is_deterministic_per_seed():
    example = load("api_analytics")
    assert example.generate_requests(500, seed=1) == example.generate_requests(500, seed=1)
    assert example.generate_requests(500, seed=1) != example.generate_requests(500, seed=2)


def test_api_analytics_script_prints_the_windows():
    example = load("api_analytics")
    out = run_script("api_analytics.py", "--requests", "1200", "--seed", "3")
    events = example.generate_requests(1200, seed=3)
    first = min(e["ts"] for e in events) // 10000 * 10000
    first_count = sum(1 for e in events if first <= e["ts"] < first + 10000)
    assert "(a) Traffic" in out and "(b) Error rate" in out and "(c) Per endpoint" in out
    # The first traffic window's line carries its request count.
    lines = out.split("(a) Traffic")[1].split("(b)")[0].strip().splitlines()
    assert int(lines[2].split()[1]) == first_count


# ---- examples/multi_agent_pipeline.py --------------------------------------------------

KNOWN_TYPES = {"page_view", "click", "add_to_cart", "purchase", "signup"}


def reasons_of(event):
    """The validation rules, written again for the test."""
    reasons = []
    for field in ("event_id", "user_id", "type", "ts"):
        if event.get(field) is None or event.get(field) == "":
            reasons.append(f"missing {field}")
    if event.get("type") and event["type"] not in KNOWN_TYPES:
        reasons.append("unknown type")
    if "ts" in event and event["ts"] is not None and type(event["ts"]) is not int:
        reasons.append("bad ts")
    if event.get("type") == "purchase":
        amount = event.get("amount")
        if type(amount) not in (int, float) or amount < 0:
            reasons.append("bad amount")
    return reasons


def test_multi_agent_pipeline_every_agent_sees_every_event():
    example = load("multi_agent_pipeline")
    result = example.run_pipeline(events=2000, seed=4, chunk=300, quiet=True)
    events = example.generate_events(2000, seed=4)
    invalid = [e for e in events if reasons_of(e)]
    valid = [e for e in events if not reasons_of(e)]
    assert 50 < len(invalid) < 300  # the generator does produce broken events

    assert result["seen"] == {"ingestion": 2000, "validation": 2000, "enrichment": 2000,
                              "analytics": 2000, "quarantine": len(invalid),
                              "warehouse": len(valid)}
    assert result["topic_sizes"] == {"events": 2000, "invalid": len(invalid),
                                     "enriched": len(valid)}

    # ingestion: raw counts per type, invalid types included
    assert result["raw_counts"] == dict(Counter(str(e.get("type") or "<none>")
                                                for e in events))

    # validation: exactly the invalid events, with their reasons
    def canonical(event):
        return json.dumps(event, sort_keys=True)
    assert sorted(canonical(r["event"]) for r in result["invalid_events"]) == \
        sorted(canonical(e) for e in invalid)
    assert result["invalid_reasons"] == dict(Counter(r for e in invalid for r in reasons_of(e)))

    # enrichment: every valid event, with the region of its country and the extra fields
    by_id = {e["event_id"]: e for e in valid}
    assert sorted(e["event_id"] for e in result["enriched_events"]) == sorted(by_id)
    for enriched in result["enriched_events"]:
        original = by_id[enriched["event_id"]]
        extra = {k: v for k, v in enriched.items() if k not in original}
        assert {k: enriched[k] for k in original} == original
        assert extra["region"] == example.COUNTRY_REGION.get(original["country"], "unknown")
        assert extra["hour"] == (original["ts"] // 3_600_000) % 24
        if original["type"] == "purchase":
            a = original["amount"]
            assert extra["amount_band"] == ("small" if a < 25 else
                                            "medium" if a < 150 else "large")
        else:
            assert "amount_band" not in extra
    assert sum(result["enriched_by_region"].values()) == len(valid)
    assert "unknown" in result["enriched_by_region"]

    # analytics: per-user totals of the valid events
    totals = defaultdict(lambda: {"events": 0, "purchases": 0, "spend": 0.0})
    for e in valid:
        totals[e["user_id"]]["events"] += 1
        if e["type"] == "purchase":
            totals[e["user_id"]]["purchases"] += 1
            totals[e["user_id"]]["spend"] += e["amount"]
    got = result["user_totals"]
    assert got.keys() == totals.keys()
    for user, want in totals.items():
        assert got[user]["events"] == want["events"]
        assert got[user]["purchases"] == want["purchases"]
        assert got[user]["spend"] == pytest.approx(want["spend"], abs=0.01)


def test_multi_agent_pipeline_runs_are_independent():
    example = load("multi_agent_pipeline")
    first = example.run_pipeline(events=300, seed=1, quiet=True)
    second = example.run_pipeline(events=300, seed=1, quiet=True)
    assert first["seen"] == second["seen"]
    assert first["seen"]["ingestion"] == 300
    assert first["user_totals"] == second["user_totals"]


# ---- examples/arrow_lookup.py ----------------------------------------------------------

def expected_revenue(orders, products, customers):
    rows = duckdb.sql("""
        select p.category, c.tier, count(*) as n, sum(o.quantity) as units,
               sum(o.quantity * p.unit_price * (1 - c.discount)) as revenue
        from orders o join products p using (product_id)
                      join customers c using (customer_id)
        group by all""").fetchall()
    return {(cat, tier): (n, units, revenue) for cat, tier, n, units, revenue in rows}


def expected_unmatched(orders, products, customers):
    return [r[0] for r in duckdb.sql("""
        select order_id from orders
        where product_id not in (select product_id from products)
           or customer_id not in (select customer_id from customers)
        order by order_id""").fetchall()]


def test_arrow_lookup_stream_and_agent_match_a_duckdb_join():
    example = load("arrow_lookup")
    result = example.run_demo(orders=3000, batch_rows=250, seed=9, quiet=True)
    orders = result["orders"]
    assert orders.num_rows == 3000
    products, customers = example.PRODUCTS, example.CUSTOMERS  # noqa: F841 - DuckDB
    want = expected_revenue(orders, products, customers)
    unmatched = expected_unmatched(orders, products, customers)
    assert 20 < len(unmatched) < 200

    for version in ("stream", "app"):
        got = result[version]
        assert got["unmatched"] == unmatched, version
        assert got["revenue"].keys() == want.keys(), version
        for key, (n, units, revenue) in want.items():
            assert got["revenue"][key]["orders"] == n, (version, key)
            assert got["revenue"][key]["units"] == units, (version, key)
            assert got["revenue"][key]["revenue"] == pytest.approx(revenue), (version, key)
        assert sum(v["orders"] for v in got["revenue"].values()) + len(unmatched) == 3000

    # The agent got the batches as sent: one message per 250-row batch.
    assert result["app"]["batches"] == math.ceil(3000 / 250)
    assert result["app"]["rows"] == 3000


def test_arrow_lookup_left_joins_each_batch_row_by_row():
    example = load("arrow_lookup")
    orders = example.generate_orders(400, seed=2)
    enriched = example.lookup(orders.to_batches(max_chunksize=400)[0])
    products = {r["product_id"]: r for r in example.PRODUCTS.to_pylist()}
    customers = {r["customer_id"]: r for r in example.CUSTOMERS.to_pylist()}
    assert enriched.num_rows == 400
    for row in enriched.to_pylist():
        product = products.get(row["product_id"], {})
        customer = customers.get(row["customer_id"], {})
        assert row["category"] == product.get("category")
        assert row["unit_price"] == product.get("unit_price")
        assert row["tier"] == customer.get("tier")
        assert row["discount"] == customer.get("discount")


def test_arrow_lookup_script_reports_agreement():
    out = run_script("arrow_lookup.py", "--orders", "2000", "--batch-rows", "500")
    assert "same as the dataflow result" in out
    assert "App agent over an arrow topic: 4 batches, 2000 orders" in out


def test_multi_agent_pipeline_script_prints_per_agent_counts():
    out = run_script("multi_agent_pipeline.py", "--events", "800")
    counts = {}
    section = out.split("Messages processed per agent")[1].split("Topic sizes")[0]
    for line in section.strip().splitlines():
        name, n = line.split()
        counts[name] = int(n)
    assert counts["ingestion"] == counts["validation"] == counts["enrichment"] == \
        counts["analytics"] == 800
    assert counts["quarantine"] + counts["warehouse"] == 800
