"""The fraud rules of the demo (examples/fraud_app.py), as plain functions over one
account's history so that tests can check every boundary.

Per transaction, in this order, then the account's history is updated:

- VELOCITY (HIGH): at least 2 earlier transactions of the account less than 60 000 ms
  before this one: "{n+1} transactions in 60s".
- AMOUNT_ANOMALY: with at least 5 earlier transactions, the population mean and
  standard deviation of their amounts; |z| > 3 alerts, CRITICAL if z > 4, else HIGH:
  "Amount {amount:.2f} {currency} is {z:.1f}σ from mean {mean:.2f}".
- GEO_IMPOSSIBLE (CRITICAL): the previous transaction's city differs and less than
  10 minutes passed: "{previous}→{city} in {minutes:.1f}min ({km:.0f}km)" (haversine,
  R = 6371 km).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

VELOCITY_WINDOW_MS = 60_000
VELOCITY_MIN_EARLIER = 2
ANOMALY_MIN_EARLIER = 5
ANOMALY_Z = 3.0
ANOMALY_CRITICAL_Z = 4.0
GEO_WINDOW_MS = 10 * 60_000
EARTH_RADIUS_KM = 6371.0

# City coordinates (latitude, longitude in degrees).
CITIES: Dict[str, Tuple[float, float]] = {
    "New York": (40.7128, -74.0060), "Los Angeles": (34.0522, -118.2437),
    "Chicago": (41.8781, -87.6298), "Toronto": (43.6532, -79.3832),
    "Mexico City": (19.4326, -99.1332), "São Paulo": (-23.5505, -46.6333),
    "London": (51.5074, -0.1278), "Paris": (48.8566, 2.3522),
    "Berlin": (52.5200, 13.4050), "Madrid": (40.4168, -3.7038),
    "Rome": (41.9028, 12.4964), "Amsterdam": (52.3676, 4.9041),
    "Zurich": (47.3769, 8.5417), "Stockholm": (59.3293, 18.0686),
    "Dubai": (25.2048, 55.2708), "Mumbai": (19.0760, 72.8777),
    "Singapore": (1.3521, 103.8198), "Hong Kong": (22.3193, 114.1694),
    "Tokyo": (35.6762, 139.6503), "Sydney": (-33.8688, 151.2093),
}


def haversine_km(a: Tuple[float, float], b: Tuple[float, float]) -> float:
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = (math.sin((lat2 - lat1) / 2) ** 2 +
         math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def new_history() -> dict:
    """An account's history: recent timestamps (for velocity), count, mean and M2 of
    amounts (Welford, for the population variance), previous city and time."""
    return {"recent": [], "count": 0, "mean": 0.0, "m2": 0.0, "city": None, "ts": None}


def check(txn: dict, history: dict) -> List[dict]:
    """Returns the alerts `txn` raises against `history`, then updates `history`."""
    alerts = []
    ts = txn["timestamp_ms"]
    amount = float(txn["transaction_amount"])
    city = txn["branch_city"]

    recent = [t for t in history["recent"] if ts - t < VELOCITY_WINDOW_MS]
    if len(recent) >= VELOCITY_MIN_EARLIER:
        alerts.append(velocity_alert(txn, len(recent)))

    count = history["count"]
    if count >= ANOMALY_MIN_EARLIER:
        mean = history["mean"]
        std = math.sqrt(history["m2"] / count)
        if std > 0:
            z = (amount - mean) / std
            if abs(z) > ANOMALY_Z:
                alerts.append(anomaly_alert(txn, amount, z, mean))

    previous: Optional[str] = history["city"]
    if previous is not None and previous != city and ts - history["ts"] < GEO_WINDOW_MS:
        alerts.append(geo_alert(txn, previous, city, ts - history["ts"]))

    recent.append(ts)
    history["recent"] = recent
    count += 1
    delta = amount - history["mean"]
    history["mean"] += delta / count
    history["m2"] += delta * (amount - history["mean"])
    history["count"] = count
    history["city"] = city
    history["ts"] = ts
    return alerts


def check_account(txn: dict, accounts) -> List[dict]:
    """Checks `txn` against its account's history in `accounts` (a dict-like table of
    histories with new_history as default) and stores the updated history back."""
    history = accounts[txn["account_number"]]
    alerts = check(txn, history)
    # Written back so that a table that serializes its values sees the update.
    accounts[txn["account_number"]] = history
    return alerts


def velocity_alert(txn: dict, earlier: int) -> dict:
    """The VELOCITY alert of `txn`, which has `earlier` transactions in the window."""
    return _alert(txn, "VELOCITY", "HIGH", f"{earlier + 1} transactions in 60s")


def anomaly_alert(txn: dict, amount: float, z: float, mean: float) -> dict:
    """The AMOUNT_ANOMALY alert of `txn`, whose amount is `z` deviations from `mean`."""
    severity = "CRITICAL" if z > ANOMALY_CRITICAL_Z else "HIGH"
    return _alert(txn, "AMOUNT_ANOMALY", severity,
                  f"Amount {amount:.2f} {txn['currency']} is {z:.1f}σ from mean {mean:.2f}")


def geo_alert(txn: dict, previous: str, city: str, elapsed_ms: int) -> dict:
    """The GEO_IMPOSSIBLE alert of `txn`, made in `city` `elapsed_ms` after `previous`."""
    minutes = elapsed_ms / 60_000
    km = haversine_km(CITIES[previous], CITIES[city])
    return _alert(txn, "GEO_IMPOSSIBLE", "CRITICAL",
                  f"{previous}→{city} in {minutes:.1f}min ({km:.0f}km)")


def _alert(txn: dict, kind: str, severity: str, message: str) -> dict:
    return {"transaction_id": txn["transaction_id"], "account_number": txn["account_number"],
            "type": kind, "severity": severity, "message": message,
            "timestamp_ms": txn["timestamp_ms"]}
