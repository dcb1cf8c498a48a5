"""The fraud rules of examples/fraud_rules.py over whole batches of transactions.

`BatchChecker.check(batch)` returns the alerts that `fraud_rules.check` returns for the
batch's transactions one by one, in the same order and with the same text, and leaves
every account's history as `check` leaves it: tests hold the two to equality on random
and hand-made sequences (python/tests/test_fraud_batch.py).

The histories are kept as columns (numpy arrays indexed by an account's slot), and each
rule is a handful of array operations over many transactions at once. A batch may hold
several transactions of one account, which must see each other's updates in order: the
batch is cut into levels, level k holding every account's k-th transaction of the batch,
so that within a level every account appears once and a level is one vectorized step.
Each step does the floating-point operations of `check` in the same order on IEEE
doubles (numpy neither fuses nor reorders them), so means, deviations and z-scores are
bit for bit those of the per-transaction rules; trigonometry (the distances in
GEO_IMPOSSIBLE's message) runs in `check`'s own function, only for alerts. A level of a
few transactions (the later levels mostly are) goes through `check` itself instead,
on the histories taken out of the columns and put back.

The velocity window of an account is a row of `width` timestamps; an account with more
recent transactions than that (a long burst) keeps its window as a Python list until it
shrinks again, so no burst is cut short.

The histories live in a table (engine state, checkpointed with the app): after each
batch, the histories it changed are written to it in `fraud_rules.new_history`'s form,
and an account seen for the first time is read from it, so a restarted worker goes on
from the checkpoint's histories, and the per-transaction rules can take over the same
table. A checker is the only writer of its accounts' histories (one per agent
instance: a topic keyed by account gives each instance its own accounts). A batch that
raises (a transaction the rules cannot take, such as a city without coordinates) leaves
the table as the batch before left it but the checker's columns half updated: make a
new checker, and take that batch one transaction at a time (`check_each`), so that only
the transactions that raise are passed over, as `detect` in fraud_app.py does.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, List, MutableMapping, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraud_rules import (ANOMALY_MIN_EARLIER, ANOMALY_Z, GEO_WINDOW_MS, VELOCITY_MIN_EARLIER,
                         VELOCITY_WINDOW_MS, anomaly_alert, check, check_account,
                         geo_alert, velocity_alert)

# The columns the rules read, never null, and those the alerts carry besides.
REQUIRED = ("account_number", "timestamp_ms", "transaction_amount", "branch_city")
ALERT_FIELDS = ("transaction_id", "currency")
# Alert kinds in the order check() reports them for one transaction.
_VELOCITY, _ANOMALY, _GEO = 0, 1, 2
_KINDS = {"VELOCITY": _VELOCITY, "AMOUNT_ANOMALY": _ANOMALY, "GEO_IMPOSSIBLE": _GEO}
_NO_CITY = -1


class BatchChecker:
    def __init__(self, histories: Optional[MutableMapping[Any, dict]] = None,
                 width: int = 8, capacity: int = 1024, max_accounts: Optional[int] = None,
                 scalar_rows: int = 8):
        """`histories`: a dict-like of account → history (an app.Table), read for
        accounts seen the first time and written after every batch; None keeps them
        only here. `width`: timestamps per account kept in the array window.
        `max_accounts`: when more accounts than that are in memory, the ones used
        longest ago are dropped down to half of it (their histories are in
        `histories`, read back when they come again), so that a RocksDB table can hold
        more accounts than memory; None keeps every account. `scalar_rows`: a level of at
        most this many transactions goes through fraud_rules.check itself, one at a
        time, which costs less than a vectorized step's fixed ~40 array operations."""
        if width < 2 or capacity < 1:
            raise ValueError(f"width must be at least 2 and capacity at least 1, got "
                             f"width={width}, capacity={capacity}")
        if max_accounts is not None and (histories is None or max_accounts < 2):
            raise ValueError(f"max_accounts={max_accounts} needs histories (a table to "
                             f"read dropped accounts back from) and a bound of at least 2")
        self.histories = histories
        self.width = width
        self.max_accounts = max_accounts
        self.scalar_rows = scalar_rows
        self._slot_of: Dict[Any, int] = {}
        # Per slot, its account (None for a free slot), and the free slots.
        self._accounts: List[Any] = []
        self._free: List[int] = []
        # Per slot, the number of the last batch that used it.
        self._last_used = np.zeros(capacity, np.int64)
        self._batches = 0
        # Per slot, the history object last written to self.histories.
        self._stored: List[dict] = []
        self._city_code: Dict[str, int] = {}
        self._city_names: List[str] = []
        self._count = np.zeros(capacity, np.int64)
        self._mean = np.zeros(capacity)
        self._m2 = np.zeros(capacity)
        self._city = np.full(capacity, _NO_CITY, np.int64)
        self._ts = np.zeros(capacity, np.int64)
        self._recent = np.zeros((capacity, width), np.int64)
        self._recent_len = np.zeros(capacity, np.int64)
        # Accounts whose window outgrew `width`: slot → its timestamps.
        self._wide: Dict[int, List[int]] = {}
        self._is_wide = np.zeros(capacity, bool)
        self._columns = np.arange(width)

    def __len__(self) -> int:
        """The accounts in memory."""
        return len(self._slot_of)

    # ---- accounts and their slots ----------------------------------------------------

    def _slots(self, accounts: List[Any]) -> np.ndarray:
        slots = np.fromiter(map(self._slot_of.get, accounts, itertools.repeat(-1)),
                            np.int64, len(accounts))
        for i in np.flatnonzero(slots < 0).tolist():
            # Looked up again: the account may have been admitted at an earlier row.
            slot = self._slot_of.get(accounts[i])
            slots[i] = self._admit(accounts[i]) if slot is None else slot
        return slots

    def _admit(self, account: Any) -> int:
        stored = self.histories.get(account) if self.histories is not None else None
        if self._free:
            # A dropped account's slot, back to the state of a new one (see _grow).
            slot = self._free.pop()
            self._count[slot] = 0
            self._mean[slot] = self._m2[slot] = 0.0
            self._city[slot] = _NO_CITY
            self._ts[slot] = self._recent_len[slot] = 0
        else:
            slot = len(self._accounts)
            if slot == len(self._count):
                self._grow()
            self._accounts.append(None)
            self._stored.append(None)
        self._accounts[slot] = account
        self._slot_of[account] = slot
        self._stored[slot] = {} if stored is None else stored
        if stored is not None:
            self._load(slot, stored)
        return slot

    def _drop_cold(self) -> None:
        """Drops the accounts used longest ago, down to half of max_accounts."""
        live = np.fromiter(self._slot_of.values(), np.int64, len(self._slot_of))
        order = np.argsort(self._last_used[live], kind="stable")
        for slot in live[order[:len(live) - self.max_accounts // 2]].tolist():
            del self._slot_of[self._accounts[slot]]
            self._accounts[slot] = None
            self._stored[slot] = None
            self._wide.pop(slot, None)
            self._is_wide[slot] = False
            self._free.append(slot)

    def _grow(self) -> None:
        def grown(array: np.ndarray, fill: int = 0) -> np.ndarray:
            bigger = np.full((2 * len(array),) + array.shape[1:], fill, array.dtype)
            bigger[:len(array)] = array
            return bigger
        self._count, self._mean, self._m2 = (grown(a) for a in (self._count, self._mean,
                                                                 self._m2))
        self._city = grown(self._city, _NO_CITY)
        self._ts, self._recent, self._recent_len, self._is_wide, self._last_used = (
            grown(a) for a in (self._ts, self._recent, self._recent_len, self._is_wide,
                               self._last_used))

    def _code(self, city: str) -> int:
        code = self._city_code.get(city)
        if code is None:
            code = self._city_code[city] = len(self._city_names)
            self._city_names.append(city)
        return code

    def _load(self, slot: int, history: dict) -> None:
        self._count[slot] = history["count"]
        self._mean[slot] = history["mean"]
        self._m2[slot] = history["m2"]
        self._city[slot] = _NO_CITY if history["city"] is None else self._code(history["city"])
        self._ts[slot] = history["ts"] or 0
        self._set_window(slot, list(history["recent"]))

    def _set_window(self, slot: int, recent: List[int]) -> None:
        if len(recent) > self.width:
            self._wide[slot] = recent
            self._is_wide[slot] = True
            return
        self._wide.pop(slot, None)
        self._is_wide[slot] = False
        self._recent[slot, :len(recent)] = recent
        self._recent_len[slot] = len(recent)

    def history(self, account: Any) -> Optional[dict]:
        """The history of `account` in fraud_rules.new_history's form, or None."""
        slot = self._slot_of.get(account)
        return None if slot is None else self._history(slot)

    def _history(self, slot: int) -> dict:
        wide = self._wide.get(slot)
        recent = list(wide) if wide is not None else \
            self._recent[slot, :self._recent_len[slot]].tolist()
        count = int(self._count[slot])
        return {"recent": recent, "count": count, "mean": float(self._mean[slot]),
                "m2": float(self._m2[slot]),
                "city": None if count == 0 else self._city_names[self._city[slot]],
                "ts": None if count == 0 else int(self._ts[slot])}

    # ---- the rules -------------------------------------------------------------------

    def check(self, batch: pa.RecordBatch) -> List[dict]:
        """The alerts of the batch's transactions, in order; updates the histories."""
        if batch.num_rows == 0:
            return []
        missing = [name for name in REQUIRED + ALERT_FIELDS if name not in batch.schema.names]
        if missing:
            raise ValueError(f"the batch has no column {', '.join(missing)}: the rules read "
                             f"{', '.join(REQUIRED)}, and alerts carry {', '.join(ALERT_FIELDS)}")
        for name in REQUIRED:
            column = batch.column(name)
            if column.null_count:
                row = pc.index(pc.is_null(column), True).as_py()
                raise ValueError(f"transaction {_describe(batch, row)} has no {name}")
        accounts = batch.column("account_number").to_pylist()
        slots = self._slots(accounts)
        ts = batch.column("timestamp_ms").cast(pa.int64()).to_numpy()
        amount = batch.column("transaction_amount").cast(pa.float64()).to_numpy()
        city = self._city_codes(batch.column("branch_city"))

        hits: List[tuple] = []  # (row, kind, value, value) of the vectorized steps
        made: List[tuple] = []  # ((row, kind), alert) of the scalar ones
        levels = _levels(slots)
        for rows in levels:
            if len(rows) <= self.scalar_rows:
                self._step_scalar(batch, rows, slots[rows], ts[rows], amount[rows],
                                  city[rows], made)
            else:
                self._step(rows, slots[rows], ts[rows], amount[rows], city[rows], hits)
        alerts = self._alerts(batch, hits, made, ts, amount, city)
        # Written last, so that a batch that raises leaves the table as the previous
        # batch left it: the agent restarts with a new checker, which reads it back.
        if self.histories is not None:
            # Level 0 holds every account of the batch once.
            self._store(slots[levels[0]])
        self._last_used[slots] = self._batches
        self._batches += 1
        if self.max_accounts is not None and len(self._slot_of) > self.max_accounts:
            self._drop_cold()
        return alerts

    def _store(self, slots: np.ndarray) -> None:
        """Writes the histories of `slots` to self.histories. Each account's history
        object is updated in place and set again (which marks it changed), cheaper
        than a new dict per account and batch."""
        names, accounts, wide, stored = self._city_names, self._accounts, self._wide, \
            self._stored
        store = self.histories.__setitem__
        recent = self._recent
        for slot, count, mean, m2, city, ts, length, first in zip(
                slots.tolist(), self._count[slots].tolist(), self._mean[slots].tolist(),
                self._m2[slots].tolist(), self._city[slots].tolist(),
                self._ts[slots].tolist(), self._recent_len[slots].tolist(),
                recent[slots, 0].tolist()):
            history = stored[slot]
            # A wide window's timestamps are in self._wide, whatever _recent_len says.
            history["recent"] = list(wide[slot]) if slot in wide else [first] \
                if length == 1 else recent[slot, :length].tolist()
            history["count"] = count
            history["mean"] = mean
            history["m2"] = m2
            history["city"] = names[city]
            history["ts"] = ts
            store(accounts[slot], history)

    def _city_codes(self, column: pa.Array) -> np.ndarray:
        encoded = pc.dictionary_encode(column)
        codes = np.array([self._code(name) for name in encoded.dictionary.to_pylist()],
                         np.int64)
        return codes[encoded.indices.to_numpy()]

    def _step(self, rows: np.ndarray, slots: np.ndarray, ts: np.ndarray,
              amount: np.ndarray, city: np.ndarray, hits: List[tuple]) -> None:
        """One transaction of each account in `slots` (all different), as check() does
        it: velocity, anomaly and geography against the history, then the update."""
        self._velocity(rows, slots, ts, hits)

        count = self._count[slots]
        mean = self._mean[slots]
        m2 = self._m2[slots]
        with np.errstate(divide="ignore", invalid="ignore"):
            std = np.sqrt(m2 / count)
            z = (amount - mean) / std
        anomalous = (count >= ANOMALY_MIN_EARLIER) & (std > 0) & (np.abs(z) > ANOMALY_Z)
        for i in np.flatnonzero(anomalous).tolist():
            hits.append((int(rows[i]), _ANOMALY, float(z[i]), float(mean[i])))

        previous = self._city[slots]
        elapsed = ts - self._ts[slots]
        moved = (previous != _NO_CITY) & (previous != city) & (elapsed < GEO_WINDOW_MS)
        for i in np.flatnonzero(moved).tolist():
            hits.append((int(rows[i]), _GEO, int(previous[i]), int(elapsed[i])))

        count += 1
        delta = amount - mean
        mean += delta / count
        m2 += delta * (amount - mean)
        self._count[slots] = count
        self._mean[slots] = mean
        self._m2[slots] = m2
        self._city[slots] = city
        self._ts[slots] = ts

    def _step_scalar(self, batch: pa.RecordBatch, rows: np.ndarray, slots: np.ndarray,
                     ts: np.ndarray, amount: np.ndarray, city: np.ndarray,
                     made: List[tuple]) -> None:
        """The transactions of a small level one at a time through fraud_rules.check,
        on each account's history taken out of the columns and put back."""
        ids, currencies = batch.column("transaction_id"), batch.column("currency")
        for row, slot, ts_, amount_, city_ in zip(rows.tolist(), slots.tolist(),
                                                  ts.tolist(), amount.tolist(),
                                                  city.tolist()):
            history = self._history(slot)
            txn = {"transaction_id": ids[row].as_py(), "account_number": self._accounts[slot],
                   "currency": currencies[row].as_py(), "timestamp_ms": ts_,
                   "transaction_amount": amount_, "branch_city": self._city_names[city_]}
            for alert in check(txn, history):
                made.append(((row, _KINDS[alert["type"]]), alert))
            self._load(slot, history)

    def _velocity(self, rows: np.ndarray, slots: np.ndarray, ts: np.ndarray,
                  hits: List[tuple]) -> None:
        """Prunes each window to the timestamps less than the window before `ts`,
        counts them, and appends `ts`, keeping the window's order."""
        if self._wide:
            wide = self._is_wide[slots]
            for i in np.flatnonzero(wide).tolist():
                self._velocity_of_wide(int(rows[i]), int(slots[i]), int(ts[i]), hits)
            narrow = ~wide
            rows, slots, ts = rows[narrow], slots[narrow], ts[narrow]
        window = self._recent[slots]
        length = self._recent_len[slots]
        keep = (ts[:, None] - window < VELOCITY_WINDOW_MS) & (self._columns < length[:, None])
        earlier = keep.sum(axis=1)
        for i in np.flatnonzero(earlier >= VELOCITY_MIN_EARLIER).tolist():
            hits.append((int(rows[i]), _VELOCITY, int(earlier[i]), 0))
        # Mostly a window keeps all its timestamps or none: ts goes after them. Else
        # the kept ones move to the front in their order first.
        pruned = np.flatnonzero((earlier != 0) & (earlier != length))
        if len(pruned):
            part = keep[pruned]
            at, column = np.nonzero(part)
            kept = np.zeros((len(pruned), self.width), np.int64)
            kept[at, np.cumsum(part, axis=1)[at, column] - 1] = window[pruned[at], column]
            self._recent[slots[pruned]] = kept
        full = earlier == self.width
        room = np.flatnonzero(~full)
        self._recent[slots[room], earlier[room]] = ts[room]
        self._recent_len[slots] = earlier + 1
        for i in np.flatnonzero(full).tolist():
            self._set_window(int(slots[i]), self._recent[slots[i]].tolist() + [int(ts[i])])

    def _velocity_of_wide(self, row: int, slot: int, ts: int, hits: List[tuple]) -> None:
        recent = [t for t in self._wide[slot] if ts - t < VELOCITY_WINDOW_MS]
        if len(recent) >= VELOCITY_MIN_EARLIER:
            hits.append((row, _VELOCITY, len(recent), 0))
        recent.append(ts)
        self._set_window(slot, recent)

    def _alerts(self, batch: pa.RecordBatch, hits: List[tuple], made: List[tuple],
                ts: np.ndarray, amount: np.ndarray, city: np.ndarray) -> List[dict]:
        """The alerts of `hits` and `made`, in check()'s order: by transaction, then
        by kind."""
        if not hits:
            made.sort(key=lambda item: item[0])
            return [alert for _, alert in made]
        rows = sorted({hit[0] for hit in hits})
        # Typed: pa.array of an untyped list first looks for pandas, a failed import.
        indices = pa.array(rows, pa.int64())
        txns = dict(zip(rows, (
            {"transaction_id": id_, "account_number": account, "currency": currency,
             "timestamp_ms": ts_}
            for id_, account, currency, ts_ in zip(
                *(batch.column(name).take(indices).to_pylist()
                  for name in ("transaction_id", "account_number", "currency")),
                ts[rows].tolist()))))
        for row, kind, first, second in hits:
            txn = txns[row]
            if kind == _VELOCITY:
                alert = velocity_alert(txn, first)
            elif kind == _ANOMALY:
                alert = anomaly_alert(txn, float(amount[row]), first, second)
            else:
                alert = geo_alert(txn, self._city_names[first], self._city_names[city[row]],
                                  second)
            made.append(((row, kind), alert))
        made.sort(key=lambda item: item[0])
        return [alert for _, alert in made]


def check_each(batch: pa.RecordBatch, histories: MutableMapping[Any, dict],
               on_error: Callable[[dict, Exception], None]) -> List[dict]:
    """The alerts of the batch's transactions one at a time (fraud_rules.check_account
    on `histories`); a transaction that raises goes to `on_error(txn, error)` and
    leaves its account's history as it was, as in the per-transaction agent."""
    alerts = []
    for txn in batch.to_pylist():
        try:
            alerts.extend(check_account(txn, histories))
        except Exception as error:  # noqa: BLE001 - whatever the rules raise goes on_error
            on_error(txn, error)
    return alerts


def _levels(slots: np.ndarray) -> List[np.ndarray]:
    """The batch's rows by level: level k holds the rows that are the k-th of their
    slot in the batch."""
    order = np.argsort(slots, kind="stable")
    ordered = slots[order]
    positions = np.arange(len(slots))
    starts = np.ones(len(slots), bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    rank = positions - np.maximum.accumulate(np.where(starts, positions, 0))
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.cumsum(np.bincount(rank))
    return [order[by_rank[start:end]]
            for start, end in zip(np.r_[0, bounds[:-1]], bounds)]


def _describe(batch: pa.RecordBatch, row: int) -> str:
    names = batch.schema.names
    if "transaction_id" in names:
        return f"{batch.column('transaction_id')[row].as_py()!r} (row {row} of the batch)"
    return f"at row {row} of the batch"
