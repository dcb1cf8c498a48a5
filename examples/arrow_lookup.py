"""Arrow batch processing with lookups against static pyarrow tables.

    python examples/arrow_lookup.py                     # 20000 orders, embedded
    python examples/arrow_lookup.py --orders 100000 --batch-rows 5000

Orders {order_id, customer_id, product_id, quantity, ts} are enriched from two static
pyarrow tables, PRODUCTS (name, category, unit_price) and CUSTOMERS (name, tier,
country, discount), one whole batch at a time: `lookup()` finds each order's rows with
`pyarrow.compute.index_in` and gathers the columns with `take`, a vectorised left join
with no Python code per row. Orders whose product or customer is not in the tables
(about 3 %: discontinued products, deleted customers) get nulls.

The same lookup runs twice:

1. In the dataflow API: `sb.Stream.from_batches(orders).map(lookup)`, then expressions
   in the C++ engine: a filter drops the unmatched orders (`is_valid`), a select
   computes `amount = quantity * unit_price * (1 - discount)`, and
   `key_by("category", "tier").aggregate(...)` keeps running totals per category and
   customer tier. A keyed aggregate without a window is an upsert stream (a new row
   for a key after each batch that changed it), so the last row per key is the total.
2. In an App: the topic `orders` uses the `arrow` serializer, so each message is one
   RecordBatch. The agent `enrich` reads `stream.batches()`, applies `lookup()` to each
   batch, aggregates it with `pyarrow.Table.group_by`, and adds the result to the table
   `revenue` (keyed by (category, tier)).

Both must agree. `run_demo(...)` returns both results (the tests check them against a
DuckDB join of the same orders with the same static tables).
"""

from __future__ import annotations

import argparse
import random

import pyarrow as pa
import pyarrow.compute as pc

import sabot as sb

# ---- the static lookup tables ----------------------------------------------------------

PRODUCTS = pa.table({
    "product_id": pa.array([101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112],
                           pa.int64()),
    "product_name": ["USB-C cable", "Wireless mouse", "Mechanical keyboard", "27in monitor",
                     "Laptop stand", "Noise-cancelling headphones", "Webcam", "Desk lamp",
                     "Office chair", "Notebook (pack of 5)", "Gel pens (12)", "Backpack"],
    "category": ["accessories", "accessories", "peripherals", "displays", "furniture",
                 "audio", "peripherals", "furniture", "furniture", "stationery",
                 "stationery", "accessories"],
    "unit_price": [9.99, 24.50, 89.00, 279.00, 39.90, 199.00, 59.00, 34.50, 249.00, 12.75,
                   8.40, 64.00],
})

TIER_DISCOUNT = {"gold": 0.10, "silver": 0.05, "bronze": 0.0}


def _customers(count: int = 60, seed: int = 5) -> pa.Table:
    rng = random.Random(seed)
    tiers = rng.choices(list(TIER_DISCOUNT), weights=[1, 3, 6], k=count)
    return pa.table({
        "customer_id": pa.array(range(1, count + 1), pa.int64()),
        "customer_name": [f"Customer {i:03d}" for i in range(1, count + 1)],
        "tier": tiers,
        "country": rng.choices(["US", "DE", "FR", "GB", "JP", "BR"], k=count),
        "discount": [TIER_DISCOUNT[t] for t in tiers],
    })


CUSTOMERS = _customers()

# One contiguous batch each, so that take() returns RecordBatches.
_PRODUCT_ROWS = PRODUCTS.combine_chunks().to_batches()[0]
_CUSTOMER_ROWS = CUSTOMERS.combine_chunks().to_batches()[0]

ORDER_SCHEMA = pa.schema([("order_id", pa.int64()), ("customer_id", pa.int64()),
                          ("product_id", pa.int64()), ("quantity", pa.int64()),
                          ("ts", pa.int64())])


def lookup(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Left-joins a batch of orders with PRODUCTS and CUSTOMERS: one index_in and one
    take per table for the whole batch. Unknown ids give null columns."""
    product_rows = _PRODUCT_ROWS.take(
        pc.index_in(batch["product_id"], value_set=_PRODUCT_ROWS["product_id"]))
    customer_rows = _CUSTOMER_ROWS.take(
        pc.index_in(batch["customer_id"], value_set=_CUSTOMER_ROWS["customer_id"]))
    columns = {name: batch[name] for name in batch.schema.names}
    for name in ("product_name", "category", "unit_price"):
        columns[name] = product_rows[name]
    for name in ("customer_name", "tier", "country", "discount"):
        columns[name] = customer_rows[name]
    return pa.RecordBatch.from_pydict(columns)


# ---- the orders ------------------------------------------------------------------------

def generate_orders(count: int, seed: int = 3) -> pa.Table:
    """`count` orders (deterministic for a seed): popular products more often, mostly
    one or two items; about 1.5 % name a discontinued product (id 199) and 1.5 % a
    deleted customer (id 0 or 999)."""
    rng = random.Random(seed)
    product_ids = PRODUCTS["product_id"].to_pylist()
    popularity = [30, 20, 8, 3, 6, 5, 7, 6, 2, 15, 18, 6]
    customer_count = CUSTOMERS.num_rows
    ts = 1_767_258_000_000
    rows = {name: [] for name in ORDER_SCHEMA.names}
    for i in range(count):
        ts += rng.randint(10, 900)
        product = rng.choices(product_ids, popularity)[0]
        customer = rng.randint(1, customer_count)
        roll = rng.random()
        if roll < 0.015:
            product = 199
        elif roll < 0.03:
            customer = rng.choice([0, 999])
        rows["order_id"].append(100_000 + i)
        rows["customer_id"].append(customer)
        rows["product_id"].append(product)
        rows["quantity"].append(rng.choices([1, 2, 3, 4, 10], [60, 25, 8, 5, 2])[0])
        rows["ts"].append(ts)
    return pa.table(rows, schema=ORDER_SCHEMA)


# ---- 1. the dataflow API ---------------------------------------------------------------

def revenue_stream(orders: sb.Stream) -> sb.Stream:
    """Orders -> lookup (Python, per batch) -> filter/select/aggregate (C++)."""
    return (orders
            .map(lookup)
            .filter(sb.col("unit_price").is_valid() & sb.col("discount").is_valid())
            .select("category", "tier", "quantity",
                    (sb.col("quantity") * sb.col("unit_price") * (1 - sb.col("discount")))
                    .alias("amount"))
            .key_by("category", "tier")
            .aggregate(orders=sb.count(), units=sb.sum("quantity"),
                       revenue=sb.sum("amount")))


def unmatched_stream(orders: sb.Stream) -> sb.Stream:
    """The orders the lookup could not complete."""
    return (orders.map(lookup)
            .filter(sb.col("unit_price").is_null() | sb.col("discount").is_null())
            .select("order_id", "product_id", "customer_id"))


def run_stream(orders: pa.Table, batch_rows: int = 2000) -> dict:
    """The dataflow version: {"revenue": {(category, tier): {...}}, "unmatched": [ids]}."""
    source = sb.Stream.from_batches(orders.to_batches(max_chunksize=batch_rows))
    revenue = {}
    for row in revenue_stream(source).to_pylist():  # upsert stream: the last row wins
        revenue[(row["category"], row["tier"])] = {
            "orders": row["orders"], "units": row["units"], "revenue": row["revenue"]}
    unmatched = sorted(row["order_id"] for row in unmatched_stream(source).to_pylist())
    return {"revenue": revenue, "unmatched": unmatched}


# ---- 2. an App agent over an arrow-serialized topic ------------------------------------

def run_app(orders: pa.Table, batch_rows: int = 2000) -> dict:
    """The App version: orders sent as RecordBatch messages, enriched by an agent that
    reads stream.batches(); returns the same shape as run_stream, plus "batches"."""
    app = sb.App("arrow-lookup")
    topic = app.topic("orders", value_serializer="arrow")
    revenue = app.Table("revenue")
    seen = {"batches": 0, "rows": 0, "unmatched": []}

    @app.agent(topic, name="enrich")
    async def enrich(stream):
        async for batch in stream.batches():
            seen["batches"] += 1
            seen["rows"] += batch.num_rows
            enriched = lookup(batch)
            matched = pc.and_(pc.is_valid(enriched["unit_price"]),
                              pc.is_valid(enriched["discount"]))
            seen["unmatched"] += enriched.filter(pc.invert(matched))["order_id"].to_pylist()
            good = pa.Table.from_batches([enriched.filter(matched)])
            amount = pc.multiply(pc.multiply(good["quantity"], good["unit_price"]),
                                 pc.subtract(1.0, good["discount"]))
            sums = (good.append_column("amount", amount)
                    .group_by(["category", "tier"])
                    .aggregate([("order_id", "count"), ("quantity", "sum"),
                                ("amount", "sum")]))
            for row in sums.to_pylist():
                key = (row["category"], row["tier"])
                totals = revenue.get(key) or {"orders": 0, "units": 0, "revenue": 0.0}
                revenue[key] = {"orders": totals["orders"] + row["order_id_count"],
                                "units": totals["units"] + row["quantity_sum"],
                                "revenue": totals["revenue"] + row["amount_sum"]}

    topic.send_many(orders.to_batches(max_chunksize=batch_rows))
    app.run(until_idle=True, idle_seconds=0.05)
    return {"revenue": revenue.as_dict(), "unmatched": sorted(seen["unmatched"]),
            "batches": seen["batches"], "rows": seen["rows"]}


# ---- the demo --------------------------------------------------------------------------

def run_demo(orders: int = 20_000, batch_rows: int = 2000, seed: int = 3,
             quiet: bool = False) -> dict:
    """Generates `orders` orders, runs both versions and returns
    {"orders": Table, "stream": ..., "app": ...}."""
    table = generate_orders(orders, seed)
    stream_result = run_stream(table, batch_rows)
    app_result = run_app(table, batch_rows)
    result = {"orders": table, "stream": stream_result, "app": app_result}
    if not quiet:
        _print_summary(result)
    return result


def _print_summary(result: dict) -> None:
    stream, app_result = result["stream"], result["app"]
    print(f"Sabot Arrow lookup: {result['orders'].num_rows} orders, "
          f"{PRODUCTS.num_rows} products, {CUSTOMERS.num_rows} customers")
    print("\nRevenue per category and customer tier (dataflow API: map(lookup) + "
          "filter/select/aggregate)")
    print(f"  {'category':12} {'tier':7} {'orders':>7} {'units':>7} {'revenue':>12}")
    ordered = sorted(stream["revenue"].items(), key=lambda kv: -kv[1]["revenue"])
    for (category, tier), row in ordered:
        print(f"  {category:12} {tier:7} {row['orders']:7} {row['units']:7} "
              f"{row['revenue']:12.2f}")
    total = sum(row["revenue"] for row in stream["revenue"].values())
    print(f"  {'total':20} {sum(r['orders'] for r in stream['revenue'].values()):7} "
          f"{sum(r['units'] for r in stream['revenue'].values()):7} {total:12.2f}")
    print(f"  unmatched orders (unknown product or customer): {len(stream['unmatched'])}")
    app_total = sum(row["revenue"] for row in app_result["revenue"].values())
    same = (app_result["unmatched"] == stream["unmatched"]
            and app_result["revenue"].keys() == stream["revenue"].keys()
            and all(app_result["revenue"][k]["orders"] == v["orders"]
                    and abs(app_result["revenue"][k]["revenue"] - v["revenue"]) < 1e-6
                    for k, v in stream["revenue"].items()))
    print(f"\nApp agent over an arrow topic: {app_result['batches']} batches, "
          f"{app_result['rows']} orders, revenue {app_total:.2f}, "
          f"{len(app_result['unmatched'])} unmatched -> "
          f"{'same as the dataflow result' if same else 'DIFFERENT from the dataflow result'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--batch-rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    run_demo(args.orders, args.batch_rows, args.seed)


if __name__ == "__main__":
    main()
