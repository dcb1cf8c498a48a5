"""sb.Stream: the dataflow API run by the C++ engine. Expected results come from plain
Python or DuckDB over the same rows, not from Sabot."""

import datetime
import signal
import subprocess
import sys
import time
import random

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import sabot as sb


def transactions(n=5000, seed=7):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append({
            "id": i,
            "account": rng.randrange(50),
            "amount": round(rng.uniform(1, 5000), 2),
            "city": rng.choice(["Paris", "Lyon", "Nice", "Lille"]),
            # Out of order by up to 3 s.
            "ts": i * 100 + rng.randrange(3000),
        })
    return rows


def sorted_rows(rows, *keys):
    return sorted(rows, key=lambda r: tuple(r[k] for k in keys))


def test_filter_and_select_match_python():
    rows = transactions()
    got = (sb.Stream.from_pylist(rows)
           .filter((sb.col("amount") > 1000) & (sb.col("city") != "Nice"))
           .select("id", (sb.col("amount") * 2).alias("double"), sb.col("city").lower())
           .to_pylist())
    want = [r for r in rows if r["amount"] > 1000 and r["city"] != "Nice"]
    assert [r["id"] for r in got] == [r["id"] for r in want]
    assert [r["double"] for r in got] == [r["amount"] * 2 for r in want]
    assert set(got[0]) == {"id", "double", "utf8_lower(city)"}


def test_expression_operators_and_literals():
    stream = sb.Stream.from_pylist([{"x": 4, "y": 2.0, "s": "Ab"}])
    row = stream.select(
        (sb.col("x") + 1).alias("a"), (10 - sb.col("x")).alias("b"),
        (sb.col("x") / sb.col("y")).alias("c"), (-sb.col("x")).alias("d"),
        (~(sb.col("x") > 3) | (sb.col("s") == "Ab")).alias("e"),
        sb.col("s").upper().alias("f"), sb.col("s").startswith("A").alias("g"),
    ).to_pylist()[0]
    assert row == {"a": 5, "b": 6, "c": 2.0, "d": -4, "e": True, "f": "AB", "g": True}
    with pytest.raises(TypeError, match="truth value"):
        bool(sb.col("x") > 1)
    with pytest.raises(TypeError, match="in an expression"):
        sb.col("x") + object()


def test_unknown_column_names_the_column():
    with pytest.raises(ValueError, match="nope"):
        sb.Stream.from_pylist([{"x": 1}]).filter(sb.col("nope") > 1).collect()


def test_map_gets_whole_batches_and_infers_its_schema():
    rows = transactions(3000)
    sizes = []

    def add_fee(batch: pa.RecordBatch) -> pa.RecordBatch:
        sizes.append(batch.num_rows)
        return batch.append_column("fee", pc.multiply(batch["amount"], 0.01))

    table = sb.Stream.from_pylist(rows).map(add_fee).collect()
    assert table.column_names == ["id", "account", "amount", "city", "ts", "fee"]
    assert table["fee"].to_pylist() == pytest.approx([r["amount"] * 0.01 for r in rows])
    # One call per batch (plus one on an empty batch to learn the schema), not per row.
    assert len(sizes) <= 3


def test_map_error_names_the_function_and_python_error():
    def broken(batch):
        raise RuntimeError("boom in user code")

    with pytest.raises(ValueError, match="boom in user code"):
        sb.Stream.from_pylist([{"x": 1}]).map(broken, schema=pa.schema([("x", pa.int64())])).collect()


def test_map_with_wrong_schema_says_what_to_pass():
    stream = sb.Stream.from_pylist([{"x": 1}])
    with pytest.raises(TypeError, match="schema="):
        stream.map(lambda b: pa.record_batch({"y": ["a"] * b.num_rows}),
                   schema=pa.schema([("x", pa.int64())])).collect()


def test_flat_map_and_union():
    left = sb.Stream.from_pylist([{"x": 1}, {"x": 2}])
    right = sb.Stream.from_pylist([{"x": 10}])
    doubled = left.flat_map(lambda b: [b, b])
    assert sorted(r["x"] for r in doubled.union(right).to_pylist()) == [1, 1, 2, 2, 10]
    assert left.flat_map(lambda b: None, schema=pa.schema([("x", pa.int64())])).to_pylist() == []


def test_tumbling_window_matches_duckdb():
    rows = transactions()
    got = (sb.Stream.from_pylist(rows)
           .with_watermark("ts", max_delay=3)
           .key_by("account")
           .window(sb.tumbling(seconds=10))
           .aggregate(total=sb.sum("amount"), n=sb.count(), top=sb.max("amount"))
           .to_pylist())
    table = pa.Table.from_pylist(rows)  # noqa: F841 - read by DuckDB
    want = duckdb.sql("""
        select account, (ts // 10000) * 10000 as window_start,
               (ts // 10000) * 10000 + 10000 as window_end,
               sum(amount) as total, count(*) as n, max(amount) as top
        from "table" group by all""").to_arrow_table().to_pylist()
    got = sorted_rows(got, "account", "window_start")
    want = sorted_rows(want, "account", "window_start")
    assert [(r["account"], r["window_start"], r["n"]) for r in got] == \
        [(r["account"], r["window_start"], r["n"]) for r in want]
    assert [r["total"] for r in got] == pytest.approx([r["total"] for r in want])
    assert [r["top"] for r in got] == [r["top"] for r in want]


def test_sliding_and_session_windows_and_dict_form():
    rows = [{"k": "a", "ts": t, "v": 1} for t in (0, 1000, 2000, 9000, 30000)]
    stream = sb.Stream.from_pylist(rows).with_watermark("ts")
    sliding = (stream.key_by("k").window(sb.sliding(size_seconds=10, slide_seconds=5))
               .aggregate({"n": ("v", "sum")}).to_pylist())
    assert sorted((r["window_start"], r["n"]) for r in sliding) == \
        [(-5000, 3), (0, 4), (5000, 1), (25000, 1), (30000, 1)]
    sessions = (stream.key_by("k").window(sb.session(gap_seconds=datetime.timedelta(seconds=5)))
                .aggregate(n=sb.count()).to_pylist())
    assert sorted((r["window_start"], r["window_end"], r["n"]) for r in sessions) == \
        [(0, 7000, 3), (9000, 14000, 1), (30000, 35000, 1)]


def test_count_window():
    rows = [{"k": i % 2, "v": i} for i in range(10)]
    got = (sb.Stream.from_pylist(rows).key_by("k").window(sb.count(2))
           .aggregate(total=sb.sum("v")).to_pylist())
    assert sorted((r["k"], r["total"]) for r in got) == \
        [(0, 2), (0, 10), (1, 4), (1, 12)]


def test_running_aggregate_per_key_last_value_matches_python():
    rows = transactions(2000)
    got = sb.Stream.from_pylist(rows).key_by("account").aggregate(total=sb.sum("amount")).to_pylist()
    final = {}
    for r in got:
        final[r["account"]] = r["total"]
    want = {}
    for r in rows:
        want[r["account"]] = want.get(r["account"], 0) + r["amount"]
    assert final.keys() == want.keys()
    assert [final[k] for k in sorted(final)] == pytest.approx([want[k] for k in sorted(want)])


def test_parallel_run_gives_the_same_rows():
    rows = transactions()
    stream = (sb.Stream.from_pylist(rows).with_watermark("ts", max_delay=3).key_by("account")
              .window(sb.tumbling(seconds=10)).aggregate(n=sb.count()))
    one = sorted_rows(stream.to_pylist(parallelism=1), "account", "window_start")
    two = sorted_rows(stream.to_pylist(parallelism=2), "account", "window_start")
    assert one == two


def test_arrow_inputs_are_accepted_without_copy_paths():
    table = pa.table({"x": list(range(100))})
    assert sb.Stream.from_table(table).filter(sb.col("x") >= 90).collect().num_rows == 10
    assert sb.Stream.from_batches(table.to_batches()).collect().num_rows == 100
    relation = duckdb.sql("select range as x from range(7)")
    assert sb.Stream.from_batches(relation.to_arrow_table()).collect().num_rows == 7
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    assert sb.Stream.from_batches(reader).collect()["x"].to_pylist() == list(range(100))
    with pytest.raises(TypeError, match="Arrow data"):
        sb.Stream.from_batches(42).collect()


def test_files_round_trip(tmp_path):
    rows = transactions(500)
    out = tmp_path / "out"
    sb.Stream.from_pylist(rows).filter(sb.col("amount") > 2500).to_file(str(out))
    files = sorted(out.glob("part-*.jsonl"))
    assert files
    back = sb.Stream.from_file(str(out / "*.jsonl"),
                               schema=pa.schema([("id", pa.int64()), ("amount", pa.float64())]))
    got = sorted(r["id"] for r in back.to_pylist())
    assert got == [r["id"] for r in rows if r["amount"] > 2500]


def test_bad_file_record_names_file_and_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"x": 1}\n{"x": "no"}\n')
    stream = sb.Stream.from_file(str(path), schema=pa.schema([("x", pa.int64())]))
    with pytest.raises(ValueError, match=r"in\.jsonl:2"):
        stream.collect()


def test_schema_property_builds_without_running():
    stream = sb.Stream.from_pylist([{"x": 1, "y": "a"}]).select("y")
    assert stream.schema == pa.schema([("y", pa.string())])


def test_ctrl_c_cancels_a_running_job(tmp_path):
    # A job of 100 one-row batches whose map sleeps 0.2 s each would run for 20 s.
    script = tmp_path / "job.py"
    script.write_text(
        "import sys, time\n"
        "import pyarrow as pa\n"
        "import sabot as sb\n"
        "def slow(batch):\n"
        "    time.sleep(0.2)\n"
        "    return batch\n"
        "batches = [pa.record_batch({'x': [i]}) for i in range(100)]\n"
        "print('started', flush=True)\n"
        "try:\n"
        "    sb.Stream.from_batches(batches).map(slow).collect()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "    sys.exit(3)\n")
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "started"
    time.sleep(1.0)
    start = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=15)
    assert process.returncode == 3, out
    assert "interrupted" in out
    assert time.monotonic() - start < 5
