"""The C++ fraud job (examples/cpp/fraud_detection.cc) against the Python rules: alert
counts by type against the independent brute-force model, and the alerts themselves
(severity, message text, order per transaction) against examples/fraud_rules.check.

The binary is $SABOT_FRAUD_CPP, else build/examples/cpp/fraud_detection; the test fails
(it does not skip) when neither exists."""

import glob
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, EXAMPLES)
sys.path.insert(0, HERE)

from fraud_app import generate  # noqa: E402
from fraud_rules import check, new_history  # noqa: E402
from test_fraud_rules import brute_force_alert_counts  # noqa: E402

DEFAULT_BINARY = os.path.join(ROOT, "build", "examples", "cpp", "fraud_detection")
KINDS = ("VELOCITY", "AMOUNT_ANOMALY", "GEO_IMPOSSIBLE")


def fraud_binary():
    env_path = os.environ.get("SABOT_FRAUD_CPP")
    candidates = [p for p in (env_path, DEFAULT_BINARY) if p]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    pytest.fail(
        "the C++ fraud binary was not found (looked at "
        + ", ".join(repr(p) for p in candidates)
        + "); build it with `cmake --build build --target fraud_detection` or set "
        "SABOT_FRAUD_CPP to its path", pytrace=False)


@pytest.fixture(scope="module")
def transactions():
    return list(generate(20_000))


@pytest.fixture(scope="module")
def input_file(tmp_path_factory, transactions):
    path = tmp_path_factory.mktemp("fraud_input") / "transactions.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for t in transactions:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def python_alerts(transactions):
    """Every alert of examples/fraud_rules.check, in transaction order."""
    histories = defaultdict(new_history)
    alerts = []
    for t in transactions:
        alerts.extend(check(t, histories[t["account_number"]]))
    return alerts


def run_cpp(input_file, output_dir, *extra):
    command = [fraud_binary(), "--input", input_file, "--output", str(output_dir), *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command} failed:\n{result.stderr}"
    lines = [l for l in result.stdout.splitlines() if l.strip()]
    summary = json.loads(lines[-1])
    rows = []
    for part in sorted(glob.glob(os.path.join(str(output_dir), "part-*.jsonl"))):
        with open(part, encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return summary, rows


@pytest.mark.parametrize("parallelism,state", [(1, "memory"), (2, "rocksdb")])
def test_cpp_alerts_match_brute_force_and_python_rules(
        tmp_path, input_file, transactions, python_alerts, parallelism, state):
    summary, rows = run_cpp(input_file, tmp_path / "alerts",
                            "--parallelism", str(parallelism), "--state", state)
    assert summary["mode"] == "file"
    assert summary["transactions"] == len(transactions)

    # Counts: the summary and the written rows against the independent model.
    expected = brute_force_alert_counts(transactions)
    assert all(expected.get(kind, 0) > 0 for kind in KINDS), expected
    got_summary = {k: v for k, v in summary["alerts"].items() if v}
    got_rows = dict(Counter(r["type"] for r in rows))
    assert got_summary == expected
    assert got_rows == expected

    # Schema of the output rows.
    assert all(set(r) == {"transaction_id", "account_number", "type", "severity",
                          "message", "timestamp_ms"} for r in rows)

    # The alerts themselves against fraud_rules.check: per transaction the same alerts
    # in the same rule order (VELOCITY, AMOUNT_ANOMALY, GEO_IMPOSSIBLE), with equal
    # severities and message texts. Rows of one account come from one subtask, in order.
    def by_transaction(alerts):
        grouped = defaultdict(list)
        for a in alerts:
            grouped[a["transaction_id"]].append(
                (a["type"], a["severity"], a["message"], a["account_number"],
                 a["timestamp_ms"]))
        return grouped

    want = by_transaction(python_alerts)
    got = by_transaction(rows)
    assert set(got) == set(want)
    mismatches = [(tid, got[tid], want[tid]) for tid in want if got[tid] != want[tid]]
    assert not mismatches, mismatches[:5]

    # A sample of message texts, spelled out (a failure here shows the difference).
    sample = {}
    for a in python_alerts:
        sample.setdefault(a["type"], a)
    for kind, alert in sample.items():
        cpp = [g for g in got[alert["transaction_id"]] if g[0] == kind]
        assert cpp and cpp[0][2] == alert["message"], (kind, cpp, alert)
    assert any("σ from mean" in a["message"] for a in python_alerts)
    assert any("→" in a["message"] and "min (" in a["message"] for a in python_alerts)


T0 = 1_767_225_600_000


def _boundary_transactions():
    """Hand-made sequences at each rule's boundaries (as in test_fraud_rules.py), plus
    long bursts, equal amounts, out-of-order timestamps and non-ASCII cities, several
    accounts interleaved."""
    std = 50 ** 0.5
    five = [100.0, 110.0, 90.0, 105.0, 95.0]
    hourly = lambda amounts: [(T0 + i * 3_600_000, a, "Paris") for i, a in enumerate(amounts)]
    sequences = {
        1: [(T0, 100.0, "Paris"), (T0 + 59_998, 100.0, "Paris"), (T0 + 59_999, 100.0, "Paris")],
        2: [(T0, 100.0, "Paris"), (T0 + 59_998, 100.0, "Paris"), (T0 + 60_000, 100.0, "Paris")],
        3: hourly(five + [100 + 4.01 * std]),
        4: hourly(five + [100 + 3.5 * std]),
        5: hourly(five + [100 - 4.5 * std]),
        6: hourly(five + [100 + 2.99 * std]),
        7: hourly(five[:4] + [10_000.0]),
        8: [(T0, 100.0, "Paris"), (T0 + 599_999, 100.0, "Tokyo")],
        9: [(T0, 100.0, "Paris"), (T0 + 600_000, 100.0, "Tokyo")],
        10: [(T0, 100.0, "Paris"), (T0 + 1000, 100.0, "Paris")],
        11: [(T0 + i * 1000, 100.0 + i, "Paris") for i in range(5)] +
            [(T0 + 5000, 50_000.0, "Tokyo")],
        # 20 within 60 s (more recent timestamps than the inline ones), then more
        # crossing the window, with a city change in between.
        12: [(T0 + i * 2_500, 20.0 + (i % 7), "London") for i in range(20)] +
            [(T0 + 50_000 + i * 7_000, 25.0, "Amsterdam" if i == 3 else "London")
             for i in range(12)],
        # Out of order: pruning follows fraud_rules.check, not the brute-force model.
        13: [(T0 + t, a, c) for t, a, c in [
            (100_000, 10.0, "Rome"), (200_000, 11.0, "Rome"), (120_000, 12.0, "Madrid"),
            (130_000, 13.0, "Madrid"), (250_000, 14.0, "Rome"), (90_000, 15.0, "Berlin"),
            (95_000, 900.0, "Berlin"), (96_000, 16.0, "Rome")]],
        14: [(T0 + i * 3_600_000, 42.0, "Zurich") for i in range(10)] +
            [(T0 + 10 * 3_600_000, 4200.0, "Zurich"), (T0 + 11 * 3_600_000, 42.0, "Zurich")],
        15: [(T0, 77.7, "São Paulo"), (T0 + 123_456, 1.0, "Zurich"),
             (T0 + 200_000, 2.0, "São Paulo")],
    }
    rows = []
    longest = max(len(s) for s in sequences.values())
    for i in range(longest):
        for account, seq in sequences.items():
            if i < len(seq):
                ts, amount, city = seq[i]
                rows.append({"transaction_id": f"A{account}-{i}", "account_number": account,
                             "user_id": "ignored", "transaction_amount": amount,
                             "currency": "EUR", "branch_city": city, "timestamp_ms": ts})
    return rows


@pytest.mark.parametrize("parallelism,state", [(1, "memory"), (3, "rocksdb")])
def test_cpp_rules_at_the_boundaries_match_fraud_rules(tmp_path, parallelism, state):
    rows = _boundary_transactions()
    path = tmp_path / "boundaries.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for t in rows:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    histories = defaultdict(new_history)
    want = defaultdict(list)
    for t in rows:
        for a in check(t, histories[t["account_number"]]):
            want[a["transaction_id"]].append(
                (a["type"], a["severity"], a["message"], a["account_number"],
                 a["timestamp_ms"]))
    summary, out = run_cpp(str(path), tmp_path / "alerts", "--parallelism",
                           str(parallelism), "--state", state)
    assert summary["transactions"] == len(rows)
    got = defaultdict(list)
    for a in out:
        got[a["transaction_id"]].append(
            (a["type"], a["severity"], a["message"], a["account_number"],
             a["timestamp_ms"]))
    assert dict(got) == dict(want)
    # The cases the sequences were made for are there.
    assert want["A1-2"] == [("VELOCITY", "HIGH", "3 transactions in 60s", 1, T0 + 59_999)]
    assert "A2-2" not in want and "A9-1" not in want and "A10-1" not in want
    assert [k for k, *_ in want["A11-5"]] == list(KINDS)
    assert want["A3-5"][0][1] == "CRITICAL" and "-4.5σ" in want["A5-5"][0][2]
    assert any(m.startswith("São Paulo→Zurich in 2.1min") for _, _, m, *_ in want["A15-1"])
    assert want["A12-19"][0][2] == "20 transactions in 60s"
