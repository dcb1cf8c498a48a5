"""examples/fraud_batch.BatchChecker against examples/fraud_rules.check, transaction by
transaction: the same alerts (kind, severity, text, order) and the same histories, on
random sequences built around every rule's boundary, out of order, cut into batches at
random, and across a restart that reads the histories back from a table."""

import os
import random
import sys
from collections import defaultdict

import orjson
import pyarrow as pa
import pytest

import sabot as sb
from sabot.brokers import read_all

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
sys.path.insert(0, EXAMPLES)

from fraud_batch import BatchChecker  # noqa: E402
from fraud_rules import CITIES, check, new_history  # noqa: E402

T0 = 1_767_225_600_000
SCHEMA = pa.schema([("transaction_id", pa.string()), ("account_number", pa.int64()),
                    ("transaction_amount", pa.float64()), ("currency", pa.string()),
                    ("branch_city", pa.string()), ("timestamp_ms", pa.int64())])
# Steps between an account's transactions: each rule's boundary on both sides, ties,
# and steps back in time (out-of-order data).
STEPS = [0, 1, 2, 500, 59_999, 60_000, 60_001, 599_999, 600_000, 600_001, 3_600_000,
         -1, -59_999, -60_000, -700_000]


def random_transactions(rng, count, accounts):
    """Transactions of a few accounts, each account's clock moving by STEPS, amounts
    from a narrow band with repeats (zero deviation), outliers and exact ties."""
    clocks = {}
    cities = list(CITIES)
    out = []
    for i in range(count):
        account = rng.randrange(accounts)
        clocks[account] = clocks.get(account, T0 + rng.randrange(10**6)) + rng.choice(STEPS)
        roll = rng.random()
        if roll < 0.2:
            amount = 100.0
        elif roll < 0.25:
            amount = round(rng.uniform(1e3, 1e5), 2)
        else:
            amount = round(rng.gauss(120, 15), 2)
        out.append({"transaction_id": f"T{i}", "account_number": account,
                    "transaction_amount": amount, "currency": "EUR",
                    "branch_city": rng.choice(cities[:3]) if rng.random() < 0.3 else
                    cities[account % len(cities)],
                    "timestamp_ms": clocks[account]})
    return out


def reference(transactions, histories=None):
    histories = histories if histories is not None else defaultdict(new_history)
    alerts = []
    for t in transactions:
        alerts.extend(check(t, histories[t["account_number"]]))
    return alerts, histories


def cut(rng, transactions):
    """The transactions as batches of random sizes (1 to 300 rows)."""
    batches, start = [], 0
    while start < len(transactions):
        size = rng.randint(1, 300)
        batches.append(pa.RecordBatch.from_pylist(transactions[start:start + size],
                                                  schema=SCHEMA))
        start += size
    return batches


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("width", [2, 8])
# Small levels run check() itself: vectorized only, mixed, one at a time only.
@pytest.mark.parametrize("scalar_rows", [0, 8, 10**9])
def test_batches_raise_the_alerts_and_keep_the_histories_of_check(seed, width, scalar_rows):
    rng = random.Random(seed)
    transactions = random_transactions(rng, 6_000, accounts=rng.choice([3, 40, 400]))
    expected, histories = reference(transactions)
    checker = BatchChecker(width=width, capacity=4, scalar_rows=scalar_rows)
    got = []
    for batch in cut(rng, transactions):
        got.extend(checker.check(batch))
    # Every kind fired, so none passes by being silent.
    assert {a["type"] for a in expected} == {"VELOCITY", "AMOUNT_ANOMALY", "GEO_IMPOSSIBLE"}
    assert got == expected
    assert len(checker) == len(histories)
    for account, history in histories.items():
        assert checker.history(account) == history, account


def test_a_long_burst_keeps_its_whole_window():
    # 30 transactions of one account within 60 s, then the window drains by one.
    transactions = [{"transaction_id": f"T{i}", "account_number": 7, "currency": "EUR",
                     "transaction_amount": 50.0, "branch_city": "Paris",
                     "timestamp_ms": T0 + i * 1_000} for i in range(30)]
    transactions += [dict(transactions[0], transaction_id="late",
                          timestamp_ms=T0 + 61_500)]
    expected, histories = reference(transactions)
    checker = BatchChecker(width=4, scalar_rows=0)
    got = checker.check(pa.RecordBatch.from_pylist(transactions, schema=SCHEMA))
    assert got == expected
    assert got[-1]["message"] == "29 transactions in 60s"
    assert checker.history(7) == histories[7]


def test_a_new_checker_goes_on_from_the_histories_in_a_table():
    rng = random.Random(11)
    transactions = random_transactions(rng, 4_000, accounts=50)
    expected, _ = reference(transactions)
    app = sb.App("fraud-batch-table")
    accounts = app.Table("accounts", default=new_history)
    first, second = transactions[:2_500], transactions[2_500:]
    got = []
    checker = BatchChecker(accounts)
    for batch in cut(rng, first):
        got.extend(checker.check(batch))
    # A restarted worker: a new checker over the same table.
    checker = BatchChecker(accounts)
    for batch in cut(rng, second[:700]):
        got.extend(checker.check(batch))
    # And the per-transaction rules can take over the table the batches wrote.
    for t in second[700:]:
        history = accounts[t["account_number"]]
        got.extend(check(t, history))
        accounts[t["account_number"]] = history
    assert got == expected


def test_a_transaction_without_a_required_field_is_named():
    batch = pa.RecordBatch.from_pylist(
        [{"transaction_id": "T1", "account_number": 1, "transaction_amount": 5.0,
          "currency": "EUR", "branch_city": "Paris", "timestamp_ms": T0},
         {"transaction_id": "T2", "account_number": 1, "transaction_amount": None,
          "currency": "EUR", "branch_city": "Paris", "timestamp_ms": T0}], schema=SCHEMA)
    with pytest.raises(ValueError, match="transaction 'T2' .*has no transaction_amount"):
        BatchChecker().check(batch)


def test_a_batch_that_raises_leaves_the_table_as_the_batch_before():
    app = sb.App("fraud-batch-raise")
    accounts = app.Table("accounts", default=new_history)
    rows = [{"transaction_id": f"T{i}", "account_number": i % 2, "currency": "EUR",
             "transaction_amount": 10.0, "branch_city": "Paris",
             "timestamp_ms": T0 + i * 1_000} for i in range(6)]
    checker = BatchChecker(accounts)
    checker.check(pa.RecordBatch.from_pylist(rows, schema=SCHEMA))
    before = {k: v for k, v in accounts.items()}
    # A city without coordinates fails GEO_IMPOSSIBLE's message, as in check().
    moved = dict(rows[-1], transaction_id="T9", branch_city="Atlantis",
                 timestamp_ms=T0 + 9_000)
    with pytest.raises(KeyError, match="Atlantis"):
        check(dict(moved), dict(before[1], recent=list(before[1]["recent"])))
    with pytest.raises(KeyError, match="Atlantis"):
        checker.check(pa.RecordBatch.from_pylist(rows[:2] + [moved], schema=SCHEMA))
    assert {k: v for k, v in accounts.items()} == before


@pytest.mark.parametrize("seed", range(3))
def test_a_checker_that_drops_cold_accounts_reads_them_back_from_the_table(seed):
    rng = random.Random(100 + seed)
    transactions = random_transactions(rng, 5_000, accounts=60)
    expected, histories = reference(transactions)
    app = sb.App(f"fraud-batch-bounded-{seed}")
    accounts = app.Table("accounts", default=new_history)
    checker = BatchChecker(accounts, width=2, max_accounts=8)
    got = []
    for batch in cut(rng, transactions):
        got.extend(checker.check(batch))
        assert len(checker) <= max(8, len(set(batch.column("account_number").to_pylist())))
    assert got == expected
    assert dict(accounts.items()) == dict(histories)


def test_max_accounts_needs_a_table():
    with pytest.raises(ValueError, match="max_accounts=10 needs histories"):
        BatchChecker(max_accounts=10)


def test_the_demo_agent_passes_over_only_the_transactions_the_rules_cannot_take(capsys):
    # Two transactions in a city without coordinates raise in GEO_IMPOSSIBLE's message
    # (as check() does): the demo's agent takes their batch one transaction at a time,
    # so only they are passed over, counted and named.
    import fraud_app

    rng = random.Random(5)
    transactions = random_transactions(rng, 400, accounts=6)
    for i in (57, 230):
        transactions[i] = dict(transactions[i], branch_city="Atlantis")
    histories = defaultdict(new_history)
    expected, rejected = [], []
    for t in transactions:
        try:
            expected.extend(check(t, histories[t["account_number"]]))
        except KeyError:
            rejected.append(t["transaction_id"])
    assert len(rejected) >= 2  # the Atlantis transactions and the next of their account
    fraud_app.transactions.send_many(transactions,
                                     keys=[t["account_number"] for t in transactions])
    fraud_app.stats["print_limit"] = 0
    fraud_app.app.run(until_idle=True)
    alerts = [orjson.loads(v) for batch in read_all(fraud_app.alerts._backend, 1)
              for v in batch.column(1).to_pylist()]
    # Per account in order (the topic's partitions interleave accounts).
    by_account = lambda alerts: sorted(alerts, key=lambda a: a["account_number"])  # noqa: E731
    assert by_account(alerts) == by_account(expected)
    assert fraud_app.stats["rejected"] == len(rejected)
    err = capsys.readouterr().err
    assert all(f"REJECTED transaction {tid!r}" in err for tid in rejected)


def test_a_batch_without_a_column_the_alerts_carry_is_refused():
    batch = pa.RecordBatch.from_pylist(
        [{"transaction_id": "T1", "account_number": 1, "transaction_amount": 5.0,
          "branch_city": "Paris", "timestamp_ms": T0}],
        schema=pa.schema([f for f in SCHEMA if f.name != "currency"]))
    with pytest.raises(ValueError, match="the batch has no column currency"):
        BatchChecker().check(batch)
    with pytest.raises(ValueError, match="capacity at least 1"):
        BatchChecker(capacity=0)
