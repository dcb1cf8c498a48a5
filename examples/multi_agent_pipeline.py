"""Several agents on one topic with Sabot's App API (Faust's model).

    python examples/multi_agent_pipeline.py                  # 5000 events, embedded
    python examples/multi_agent_pipeline.py --events 20000 --seed 3
    sabot -A multi_agent_pipeline:app agents                 # from examples/: the agents

Clickstream events arrive on the topic `events` (2 partitions, keyed by user). Four
agents read that topic, and because every agent keeps its own positions, each of them
sees every message:

- `ingestion` counts raw events per type (whatever the type says, valid or not) in the
  table `raw_counts`;
- `validation` checks the required fields (event_id, user_id, type, ts; a known type; a
  non-negative amount on purchases) and forwards each invalid event, with its reasons,
  to the topic `invalid`;
- `enrichment` adds fields to the valid events (the region of the user's country from a
  static lookup, the hour of day, an amount band for purchases) and yields them to the
  topic `enriched`;
- `analytics` keeps per-user totals of the valid events (events, purchases, spend) in
  the table `user_totals`.

Two more agents read the output topics: `quarantine` counts invalid events per reason
and `warehouse` counts enriched events per region. At the end the program prints how
many messages each agent processed and what it computed. `run_pipeline(...)` returns
these figures (the tests recompute them in plain Python from the generated events).
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections import Counter
from types import SimpleNamespace

import sabot as sb

EVENT_TYPES = ("page_view", "click", "add_to_cart", "purchase", "signup")
REQUIRED_FIELDS = ("event_id", "user_id", "type", "ts")

# The static lookup the enrichment agent uses: country -> sales region.
COUNTRY_REGION = {
    "US": "NA", "CA": "NA", "MX": "LATAM", "BR": "LATAM", "AR": "LATAM",
    "GB": "EMEA", "FR": "EMEA", "DE": "EMEA", "ES": "EMEA", "NG": "EMEA",
    "IN": "APAC", "JP": "APAC", "SG": "APAC", "AU": "APAC",
}

START_MS = 1_767_258_000_000  # 2026-01-01T09:00:00Z


def problems(event: dict) -> list:
    """The reasons `event` is invalid (empty when it is valid)."""
    found = [f"missing {name}" for name in REQUIRED_FIELDS if event.get(name) in (None, "")]
    kind = event.get("type")
    if kind not in (None, "") and kind not in EVENT_TYPES:
        found.append("unknown type")
    ts = event.get("ts")
    if ts is not None and not isinstance(ts, int):
        found.append("bad ts")
    if kind == "purchase":
        amount = event.get("amount")
        if not isinstance(amount, (int, float)) or amount < 0:
            found.append("bad amount")
    return found


def amount_band(amount: float) -> str:
    return "small" if amount < 25 else "medium" if amount < 150 else "large"


def enrich(event: dict) -> dict:
    """A valid event with region, hour of day (UTC) and, for purchases, an amount band."""
    enriched = dict(event)
    enriched["region"] = COUNTRY_REGION.get(event.get("country"), "unknown")
    enriched["hour"] = (event["ts"] // 3_600_000) % 24
    if event["type"] == "purchase":
        enriched["amount_band"] = amount_band(event["amount"])
    return enriched


def new_totals() -> dict:
    return {"events": 0, "purchases": 0, "spend": 0.0}


def generate_events(count: int, users: int = 200, seed: int = 11) -> list:
    """`count` clickstream events (deterministic for a seed); about 6 % are broken in
    one of several ways (a missing field, an unknown type, a bad amount or timestamp)."""
    rng = random.Random(seed)
    countries = list(COUNTRY_REGION) + ["ZZ"]  # ZZ: a country without a region
    home = {f"U{u:04d}": rng.choice(countries) for u in range(users)}
    user_ids = list(home)
    ts = START_MS
    events = []
    for i in range(count):
        ts += rng.randint(5, 400)
        user = rng.choice(user_ids)
        kind = rng.choices(EVENT_TYPES, weights=[50, 25, 10, 10, 5])[0]
        event = {"event_id": f"E{i:07d}", "user_id": user, "type": kind, "ts": ts,
                 "country": home[user]}
        if kind == "purchase":
            event["amount"] = round(rng.lognormvariate(3.5, 1.0), 2)
        roll = rng.random()
        if roll < 0.015:
            del event["user_id"]
        elif roll < 0.025:
            event["type"] = None
        elif roll < 0.035:
            event["type"] = rng.choice(["pageview", "CLICK", "refund"])
        elif roll < 0.045:
            event["type"] = "purchase"
            event["amount"] = rng.choice([-round(rng.uniform(1, 50), 2), None, "12.50"])
        elif roll < 0.055:
            event["ts"] = str(ts)
        elif roll < 0.06:
            del event["event_id"]
        events.append(event)
    return events


def build_pipeline() -> SimpleNamespace:
    """A fresh App with the topics, tables and agents described in the module's
    docstring, and the `stats` the agents fill."""
    app = sb.App("multi-agent-pipeline")
    events = app.topic("events", partitions=2)
    invalid = app.topic("invalid")
    enriched = app.topic("enriched")
    raw_counts = app.Table("raw_counts", default=int)
    user_totals = app.Table("user_totals", default=new_totals)
    stats = {"seen": Counter(), "invalid_reasons": Counter(),
             "enriched_by_region": Counter(), "invalid_events": [], "enriched_events": []}

    @app.agent(events, name="ingestion")
    async def ingestion(stream):
        async for event in stream:
            stats["seen"]["ingestion"] += 1
            raw_counts[str(event.get("type") or "<none>")] += 1

    @app.agent(events, sink=[invalid], name="validation")
    async def validation(stream):
        async for event in stream:
            stats["seen"]["validation"] += 1
            reasons = problems(event)
            if reasons:
                yield {"event": event, "reasons": reasons}

    @app.agent(events, sink=[enriched], name="enrichment")
    async def enrichment(stream):
        async for event in stream:
            stats["seen"]["enrichment"] += 1
            if not problems(event):
                yield enrich(event)

    @app.agent(events, name="analytics")
    async def analytics(stream):
        async for event in stream:
            stats["seen"]["analytics"] += 1
            if problems(event):
                continue
            totals = user_totals[event["user_id"]]
            totals["events"] += 1
            if event["type"] == "purchase":
                totals["purchases"] += 1
                totals["spend"] = round(totals["spend"] + event["amount"], 2)
            user_totals[event["user_id"]] = totals  # written back: a table update

    @app.agent(invalid, name="quarantine")
    async def quarantine(stream):
        async for rejected in stream:
            stats["seen"]["quarantine"] += 1
            stats["invalid_reasons"].update(rejected["reasons"])
            stats["invalid_events"].append(rejected)

    @app.agent(enriched, name="warehouse")
    async def warehouse(stream):
        async for event in stream:
            stats["seen"]["warehouse"] += 1
            stats["enriched_by_region"][event["region"]] += 1
            stats["enriched_events"].append(event)

    return SimpleNamespace(app=app, events=events, invalid=invalid, enriched=enriched,
                           raw_counts=raw_counts, user_totals=user_totals, stats=stats)


pipeline = build_pipeline()
app = pipeline.app  # for `sabot -A multi_agent_pipeline:app ...`


def run_pipeline(events: int = 5000, seed: int = 11, chunk: int = 500,
                 quiet: bool = False) -> dict:
    """Runs a fresh pipeline over `events` generated events (sent in chunks by a startup
    task while the worker runs) until every agent is idle; returns what each agent saw
    and computed."""
    p = build_pipeline()
    generated = generate_events(events, seed=seed)

    @p.app.task
    async def produce():
        for start in range(0, len(generated), chunk):
            part = generated[start:start + chunk]
            p.events.send_many(part, keys=[e.get("user_id") for e in part])
            await asyncio.sleep(0)  # let the agents work between chunks

    p.app.run(until_idle=True, idle_seconds=0.1)
    stats = p.stats
    result = {
        "sent": len(generated),
        "seen": dict(stats["seen"]),
        "raw_counts": p.raw_counts.as_dict(),
        "invalid_reasons": dict(stats["invalid_reasons"]),
        "invalid_events": stats["invalid_events"],
        "enriched_by_region": dict(stats["enriched_by_region"]),
        "enriched_events": stats["enriched_events"],
        "user_totals": p.user_totals.as_dict(),
        "topic_sizes": {t.name: sum(t.end_offsets()) for t in (p.events, p.invalid, p.enriched)},
    }
    if not quiet:
        _print_summary(result)
    return result


def _print_summary(result: dict) -> None:
    print(f"Sabot multi-agent pipeline: {result['sent']} events on topic 'events'")
    print("\nMessages processed per agent")
    for name in ("ingestion", "validation", "enrichment", "analytics", "quarantine",
                 "warehouse"):
        print(f"  {name:12} {result['seen'].get(name, 0):7}")
    print("\nTopic sizes   " + ", ".join(f"{k} {v}" for k, v in result["topic_sizes"].items()))
    print("\ningestion: raw events per type")
    for kind, n in sorted(result["raw_counts"].items(), key=lambda kv: -kv[1]):
        print(f"  {kind:12} {n:7}")
    print("\nvalidation -> quarantine: invalid events per reason")
    for reason, n in sorted(result["invalid_reasons"].items(), key=lambda kv: -kv[1]):
        print(f"  {reason:16} {n:5}")
    print("\nenrichment -> warehouse: enriched events per region")
    for region, n in sorted(result["enriched_by_region"].items(), key=lambda kv: -kv[1]):
        print(f"  {region:8} {n:7}")
    totals = result["user_totals"]
    print(f"\nanalytics: totals of {len(totals)} users; top spenders")
    top = sorted(totals.items(), key=lambda kv: -kv[1]["spend"])[:5]
    for user, t in top:
        print(f"  {user}  spend {t['spend']:9.2f}  purchases {t['purchases']:3}  "
              f"events {t['events']:4}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    run_pipeline(args.events, args.seed)


if __name__ == "__main__":
    main()
