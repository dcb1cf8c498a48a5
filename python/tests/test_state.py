"""The engine's keyed state from Python, on memory and RocksDB, checked against a plain
dict model of the same operations."""

import random

import pytest

import sabot as sb


@pytest.fixture(params=["memory", "rocksdb"])
def backend(request, tmp_path):
    if request.param == "memory":
        return sb.MemoryBackend()
    return sb.RocksDBBackend(str(tmp_path / "rocksdb"))


def test_value_state_matches_a_dict(backend):
    state = sb.ValueState(backend, "values")
    model = {}
    rng = random.Random(3)
    for _ in range(3000):
        key = rng.choice(["a", "b", 7, ("t", 1), "ü"])
        op = rng.random()
        if op < 0.6:
            value = {"n": rng.randrange(100), "s": "x" * rng.randrange(5)}
            state.update(key, value)
            model[str(key)] = value
        elif op < 0.8:
            state.clear(key)
            model.pop(str(key), None)
        assert state.get(key) == model.get(str(key))
    assert state.get("never", default=0) == 0


def test_map_list_reducing_aggregating(backend):
    visits = sb.MapState(backend, "visits")
    visits.put("alice", "/home", 3)
    visits.put("alice", "/cart", 1)
    visits.put("bob", "/home", 9)
    assert sorted(visits.items("alice")) == [("/cart", 1), ("/home", 3)]
    assert visits.get("alice", "/home") == 3 and visits.contains("bob", "/home")
    visits.remove("alice", "/home")
    assert visits.keys("alice") == ["/cart"] and visits.get("alice", "/home") is None
    visits.clear("bob")
    assert visits.items("bob") == []

    events = sb.ListState(backend, "events")
    for i in range(5):
        events.add("k", i)
    assert events.get("k") == [0, 1, 2, 3, 4] and events.get("other") == []
    events.clear("k")
    assert events.get("k") == []

    maxima = sb.ReducingState(backend, "max", reduce=max)
    for value in [3, 9, 2]:
        maxima.add("k", value)
    assert maxima.get("k") == 9

    mean = sb.AggregatingState(backend, "mean", create=lambda: [0, 0],
                               add=lambda acc, v: [acc[0] + v, acc[1] + 1],
                               result=lambda acc: acc[0] / acc[1])
    for value in [1, 2, 6]:
        mean.add("k", value)
    assert mean.get("k") == 3.0 and mean.get("none") is None


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_snapshot_restores_into_a_new_backend_of_the_same_kind(kind, tmp_path):
    def make(name):
        return sb.MemoryBackend() if kind == "memory" else sb.RocksDBBackend(str(tmp_path / name))
    backend = make("first")
    state = sb.ValueState(backend, "counts")
    for i in range(100):
        state.update(f"key-{i}", i)
    snapshot = backend.snapshot()
    fresh = make("fresh")
    restored = sb.ValueState(fresh, "counts")  # states are created before restore
    fresh.restore(snapshot)
    assert [restored.get(f"key-{i}") for i in range(100)] == list(range(100))
    other = sb.RocksDBBackend(str(tmp_path / "other")) if kind == "memory" else sb.MemoryBackend()
    sb.ValueState(other, "counts")
    with pytest.raises(ValueError, match="same state backend"):
        other.restore(snapshot)


def test_configuration_errors():
    with pytest.raises(ValueError, match="directory"):
        sb.BackendConfig("rocksdb").create()
    with pytest.raises(ValueError, match="unknown backend"):
        sb.BackendConfig("redis").create()
    with pytest.raises(ValueError, match="unknown serializer 'yaml'"):
        sb.ValueState(sb.MemoryBackend(), "v", serializer="yaml")
