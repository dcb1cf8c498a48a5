"""The fraud demo's rules on hand-made sequences, at each rule's boundary, and the demo
end to end on embedded defaults."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
sys.path.insert(0, EXAMPLES)

from fraud_rules import check, haversine_km, new_history, CITIES  # noqa: E402

T0 = 1_767_225_600_000


def txn(i, ts, amount=100.0, city="Paris", account=1):
    return {"transaction_id": f"T{i}", "account_number": account, "timestamp_ms": ts,
            "transaction_amount": amount, "currency": "EUR", "branch_city": city}


def run(sequence):
    history = new_history()
    return [check(t, history) for t in sequence]


def kinds(alerts):
    return [a["type"] for a in alerts]


def test_velocity_needs_two_earlier_within_strictly_less_than_60s():
    # Two earlier transactions 59 999 ms and 1 ms before: alert "3 transactions in 60s".
    out = run([txn(1, T0), txn(2, T0 + 59_998), txn(3, T0 + 59_999)])
    assert kinds(out[2]) == ["VELOCITY"]
    assert out[2][0]["severity"] == "HIGH"
    assert out[2][0]["message"] == "3 transactions in 60s"
    # The first is exactly 60 000 ms before: it does not count, one earlier is not enough.
    out = run([txn(1, T0), txn(2, T0 + 59_998), txn(3, T0 + 60_000)])
    assert out[2] == []
    assert out[1] == []


def test_amount_anomaly_needs_five_earlier_and_uses_population_stddev():
    amounts = [100.0, 110.0, 90.0, 105.0, 95.0]  # mean 100, population std sqrt(50)
    four = [txn(i, T0 + i * 3_600_000, a) for i, a in enumerate(amounts[:4])]
    assert run(four + [txn(9, T0 + 9 * 3_600_000, 10_000.0)])[-1] == []
    five = [txn(i, T0 + i * 3_600_000, a) for i, a in enumerate(amounts)]
    std = 50 ** 0.5
    critical = run(five + [txn(9, T0 + 9 * 3_600_000, 100 + 4.01 * std)])[-1]
    assert kinds(critical) == ["AMOUNT_ANOMALY"] and critical[0]["severity"] == "CRITICAL"
    assert critical[0]["message"] == f"Amount {100 + 4.01 * std:.2f} EUR is 4.0σ from mean 100.00"
    high = run(five + [txn(9, T0 + 9 * 3_600_000, 100 + 3.5 * std)])[-1]
    assert high[0]["severity"] == "HIGH"
    low = run(five + [txn(9, T0 + 9 * 3_600_000, 100 - 4.5 * std)])[-1]
    assert low[0]["severity"] == "HIGH" and "-4.5σ" in low[0]["message"]
    assert run(five + [txn(9, T0 + 9 * 3_600_000, 100 + 2.99 * std)])[-1] == []


def test_geo_impossible_within_strictly_less_than_10_minutes():
    km = haversine_km(CITIES["Paris"], CITIES["Tokyo"])
    out = run([txn(1, T0, city="Paris"), txn(2, T0 + 599_999, city="Tokyo")])
    assert kinds(out[1]) == ["GEO_IMPOSSIBLE"] and out[1][0]["severity"] == "CRITICAL"
    assert out[1][0]["message"] == f"Paris→Tokyo in 10.0min ({km:.0f}km)"
    assert run([txn(1, T0, city="Paris"), txn(2, T0 + 600_000, city="Tokyo")])[1] == []
    assert run([txn(1, T0, city="Paris"), txn(2, T0 + 1000, city="Paris")])[1] == []


def test_haversine_matches_a_known_distance():
    # Paris to London is about 344 km.
    assert haversine_km(CITIES["Paris"], CITIES["London"]) == pytest.approx(343.5, abs=1.0)


def test_rules_run_in_order_velocity_anomaly_geo():
    history = new_history()
    for i in range(5):
        check(txn(i, T0 + i * 1000, 100.0 + i), history)
    out = check(txn(9, T0 + 5000, 50_000.0, city="Tokyo"), history)
    assert kinds(out) == ["VELOCITY", "AMOUNT_ANOMALY", "GEO_IMPOSSIBLE"]


def brute_force_alert_counts(transactions):
    """An independent model of the rules: recomputes each verdict from the full list of
    the account's earlier transactions (no running statistics)."""
    from collections import Counter, defaultdict
    import statistics
    earlier = defaultdict(list)
    counts = Counter()
    for t in transactions:
        past = earlier[t["account_number"]]
        ts = t["timestamp_ms"]
        if sum(1 for p in past if ts - p["timestamp_ms"] < 60_000) >= 2:
            counts["VELOCITY"] += 1
        if len(past) >= 5:
            amounts = [p["transaction_amount"] for p in past]
            std = statistics.pstdev(amounts)
            if std > 0 and abs((t["transaction_amount"] - statistics.fmean(amounts)) / std) > 3:
                counts["AMOUNT_ANOMALY"] += 1
        if past and past[-1]["branch_city"] != t["branch_city"] and \
                ts - past[-1]["timestamp_ms"] < 600_000:
            counts["GEO_IMPOSSIBLE"] += 1
        past.append(t)
    return dict(counts)


def test_demo_end_to_end_on_embedded_defaults_matches_brute_force():
    import fraud_app
    expected = brute_force_alert_counts(list(fraud_app.generate(20_000)))
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, "fraud_app.py"),
                             "--transactions", "20000", "--print-alerts", "3"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "processed      20000 transactions" in result.stdout
    line = next(l for l in result.stdout.splitlines() if l.strip().startswith("alerts"))
    got = dict((kind, int(n)) for kind, n in
               (part.split() for part in line.split("alerts", 1)[1].split(",")))
    assert got == expected
    assert result.stdout.count("ALERT ") == 3
