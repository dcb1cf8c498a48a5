"""App tables kept in the engine's state backend (memory:// and rocksdb://): dict
semantics against a plain dict, the write-back cache, checkpoints and restores, and the
rocksdb:// setting."""

import json
import logging
import os
import random
import subprocess
import sys
from collections import Counter

import pytest

import sabot as sb
from sabot import _sabot

STATES = ["memory", "rocksdb"]


def state_url(kind, tmp_path):
    return "memory://" if kind == "memory" else f"rocksdb://{tmp_path / 'state'}"


KEYS = [0, 1, 7, -3, "a", "b", "ü", ("t", 1), (1, ("n", 2)), ("t", "1")]


@pytest.mark.parametrize("kind", STATES)
@pytest.mark.parametrize("cache_size", [3, 8, None])
def test_table_matches_a_dict_under_random_operations(kind, cache_size, tmp_path):
    app = sb.App("dict-model", state=state_url(kind, tmp_path))
    table = app.Table("t", default=int)
    table.cache_size = cache_size
    model = {}
    rng = random.Random(5)
    for step in range(4000):
        key = rng.choice(KEYS)
        op = rng.random()
        if op < 0.3:
            table[key] += 1
            model[key] = model.get(key, 0) + 1
        elif op < 0.45:
            value = rng.randrange(100)
            table[key] = value
            model[key] = value
        elif op < 0.55:
            if key in model:
                del table[key]
                del model[key]
            else:
                with pytest.raises(KeyError):
                    del table[key]
        elif op < 0.7:
            assert table.get(key, "none") == model.get(key, "none")
        elif op < 0.8:
            assert (key in table) == (key in model)
        elif op < 0.85:
            # The default factory makes the missing entry.
            assert table[key] == model.setdefault(key, 0)
        if step % 50 == 0:
            assert len(table) == len(model)
            assert dict(table.items()) == model
            assert sorted(map(repr, table.keys())) == sorted(map(repr, model))
            assert sorted(table.values()) == sorted(model.values())
    assert table.as_dict() == model
    assert all(type(k) is type(m) for k, m in zip(sorted(table, key=repr), sorted(model, key=repr)))
    table.clear()
    assert len(table) == 0 and dict(table.items()) == {} and 0 not in table


@pytest.mark.parametrize("kind", STATES)
def test_values_survive_the_cache_dropping_them(kind, tmp_path):
    app = sb.App("evict", state=state_url(kind, tmp_path))
    table = app.Table("histories")
    table.cache_size = 4
    for i in range(50):
        table[f"k{i}"] = {"seen": [i], "n": i}
    # Read and mutated in place without assigning back: kept while it is cached.
    table["k3"]["seen"].append("again")
    for i in range(50):
        assert table[f"k{i}"]["n"] == i
    assert len(table._dirty) + len(table._clean) <= 4
    assert table["k3"] == {"seen": [3, "again"], "n": 3}
    assert len(table) == 50
    assert sorted(table) == sorted(f"k{i}" for i in range(50))
    del table["k7"]
    assert "k7" not in table and len(table) == 49 and table.get("k7") is None


def test_errors_name_the_table_and_the_key(tmp_path):
    app = sb.App("errors")
    table = app.Table("bad")
    with pytest.raises(TypeError, match="table 'bad': key .* is not JSON"):
        table[object()] = 1
    table["k"] = {1, 2}
    with pytest.raises(TypeError, match="table 'bad': the value of key 'k' is not JSON"):
        table.flush()
    with pytest.raises(ValueError, match="already exists"):
        app.Table("bad")
    with pytest.raises(ValueError, match="cache_size"):
        sb.tables.Table(app, "small", cache_size=0)


def test_states_keep_their_backend_alive():
    # A state points into its backend: dropping the backend object must not free it.
    state = _sabot.MapStateBytes(_sabot.StateBackend("memory", ""), "t")
    garbage = [bytearray(64) for _ in range(10_000)]
    state.put(b"", b"k", b"v")
    assert state.entries(b"") == [(b"k", b"v")] and garbage


def counting_app(kind, tmp_path, checkpoint_dir):
    app = sb.App("counter", state=state_url(kind, tmp_path), checkpoint_dir=str(checkpoint_dir))
    clicks = app.topic("clicks", partitions=2)
    counts = app.Table("counts", default=int)
    pairs = app.Table("pairs", default=list)

    @app.agent(clicks)
    async def count(stream):
        async for click in stream:
            counts[click["page"]] += 1
            pairs[(click["page"], click["n"] % 2)] += [click["n"]]
    return app, clicks, counts, pairs


@pytest.mark.parametrize("kind", STATES)
def test_tables_come_back_from_a_checkpoint_in_a_new_app(kind, tmp_path):
    checkpoints = tmp_path / "checkpoints"
    pages = [f"p{i % 9}" for i in range(300)]
    first = [{"page": p, "n": i} for i, p in enumerate(pages[:200])]
    app, clicks, counts, pairs = counting_app(kind, tmp_path, checkpoints)
    clicks.send_many(first, keys=[c["page"] for c in first])
    app.run(until_idle=True)
    partitions = {p: counts.partition_of(p) for p in set(pages)}
    assert dict(counts.items()) == dict(Counter(pages[:200]))
    files = sorted(os.listdir(checkpoints))
    assert files == ["checkpoint-1.json", "checkpoint-1.state"]
    saved = json.loads((checkpoints / "checkpoint-1.json").read_text())
    assert saved["format"] == 2 and saved["tables"] == ["counts", "pairs"]
    assert saved["state_backend"] == kind

    # A new worker: the broker is in memory, so the topic is sent again; the worker
    # restores the tables and goes on after the checkpoint's positions.
    app, clicks, counts, pairs = counting_app(kind, tmp_path, checkpoints)
    counts["before-restore"] = 1  # replaced by the checkpoint's table
    everything = [{"page": p, "n": i} for i, p in enumerate(pages)]
    clicks.send_many(everything, keys=[c["page"] for c in everything])
    app.run(until_idle=True)
    assert dict(counts.items()) == dict(Counter(pages))
    assert {p: counts.partition_of(p) for p in set(pages)} == partitions
    expected_pairs = {}
    for click in everything:
        expected_pairs.setdefault((click["page"], click["n"] % 2), []).append(click["n"])
    assert {k: sorted(v) for k, v in pairs.items()} == expected_pairs
    assert all(type(k) is tuple for k in pairs)


@pytest.mark.parametrize("kind", STATES)
def test_retention_keeps_three_checkpoints_with_their_state_files(kind, tmp_path):
    app = sb.App("retention", state=state_url(kind, tmp_path),
                 checkpoint_dir=str(tmp_path / "checkpoints"))
    table = app.Table("t")
    for i in range(5):
        table[i] = i
        app._write_checkpoint()
    names = sorted(os.listdir(tmp_path / "checkpoints"))
    assert names == [f"checkpoint-{n}.{s}" for n in (3, 4, 5) for s in ("json", "state")]
    # Restore straight from the store into another App's backend.
    other = sb.App("retention", state=state_url(kind, tmp_path),
                   checkpoint_dir=str(tmp_path / "checkpoints"))
    restored = other.Table("t")
    other._restore()
    assert dict(restored.items()) == {i: i for i in range(5)} and len(restored) == 5


def test_a_checkpoint_restores_only_into_its_kind_of_backend(tmp_path):
    checkpoints = str(tmp_path / "checkpoints")
    app = sb.App("kinds", checkpoint_dir=checkpoints)
    app.Table("t")["k"] = 1
    app._write_checkpoint()
    other = sb.App("kinds", state=f"rocksdb://{tmp_path / 'state'}", checkpoint_dir=checkpoints)
    other.Table("t")
    with pytest.raises(ValueError, match="memory state backend, and this app's state is rocksdb"):
        other._restore()


def test_format_1_checkpoints_are_refused_with_a_way_out(tmp_path):
    (tmp_path / "checkpoint-1.json").write_text(json.dumps(
        {"format": 1, "id": 1, "app": "old", "agents": {}, "tables": {}}))
    app = sb.App("old", checkpoint_dir=str(tmp_path))
    with pytest.raises(ValueError, match="format 1 .*delete the checkpoint directory"):
        app._restore()


def test_tables_dropped_from_the_app_are_dropped_on_restore(tmp_path, caplog):
    checkpoints = str(tmp_path / "checkpoints")
    app = sb.App("dropped", checkpoint_dir=checkpoints)
    app.Table("kept")["k"] = 1
    app.Table("gone")["k"] = 2
    app._write_checkpoint()
    other = sb.App("dropped", checkpoint_dir=checkpoints)
    kept = other.Table("kept")
    with caplog.at_level(logging.WARNING, logger="sabot.tables"):
        other._restore()
    assert dict(kept.items()) == {"k": 1}
    assert "table gone, which app dropped no longer has" in caplog.text
    # Its state stays (empty), so the next checkpoint restores too.
    other._write_checkpoint()
    again = sb.App("dropped", checkpoint_dir=checkpoints)
    again.Table("kept")
    again._restore()


def test_rocksdb_setting_is_checked_when_the_app_is_made(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="state 'rocksdb://' needs a directory"):
        sb.App("x", state="rocksdb://")
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ValueError, match="is not a directory; choose another PATH"):
        sb.App("x", state=f"rocksdb://{a_file}")
    with pytest.raises(ValueError, match="is not a writable directory"):
        sb.App("x", state=f"rocksdb://{a_file}/below")
    with pytest.raises(ValueError, match="unknown state 'redis://x'"):
        sb.App("x", state="redis://x")
    monkeypatch.chdir(tmp_path)
    app = sb.App("x", state="rocksdb://relative/state")
    assert app.state == f"rocksdb://{tmp_path}/relative/state"
    # Nothing is made on disk until a table needs it.
    assert not (tmp_path / "relative").exists()


HOLDER = """
import sys
import sabot as sb
app = sb.App("counter", state=sys.argv[1])
app.Table("t")["k"] = 1
print(app._table_backend.directory, flush=True)
sys.stdin.read()
"""


def test_an_app_on_rocksdb_counts_and_removes_stale_run_directories(tmp_path):
    url = f"rocksdb://{tmp_path / 'state'}"
    # A worker that still runs keeps its directory; one that ended leaves a stale one.
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        held = holder.stdout.readline().strip()
        ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                               capture_output=True, text=True, check=True).stdout.strip()
        stale = tmp_path / "state" / "counter" / f"run-{ended}-abc"
        stale.mkdir()
        (stale / "LOCK").write_text("")

        app = sb.App("counter", state=url)
        clicks = app.topic("clicks", partitions=3)
        counts = app.Table("counts", default=int)

        @app.agent(clicks, concurrency=3)
        async def count(stream):
            async for click in stream:
                counts[click["page"]] += 1

        pages = [f"p{i % 13}" for i in range(1000)]
        clicks.send_many([{"page": p} for p in pages], keys=pages)
        app.run(until_idle=True)
        assert dict(counts.items()) == dict(Counter(pages))
        directory = app._table_backend.directory
        assert os.path.dirname(directory) == str(tmp_path / "state" / "counter")
        assert os.path.basename(directory).startswith(f"run-{os.getpid()}-")
        assert os.path.isdir(held) and not stale.exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # Once its process ended, the next App removes it.
    sb.App("counter", state=url).Table("t")
    assert not os.path.exists(held)
