"""The engine's keyed state for your own processing (Flink's state primitives).

    backend = sb.MemoryBackend()                    # or sb.RocksDBBackend("/var/lib/app")
    seen = sb.ValueState(backend, "seen")
    seen.update("alice", 3)
    seen.get("alice")                               # 3

Keys and values are serialized (default 'json'; any serializer of sabot.serializers)
and kept by the C++ state backend: in memory, or in RocksDB on disk. Each key belongs to
a key group (xxh3 of its bytes mod 128), as the engine spreads keys over subtasks.
`backend.snapshot()` returns every state's entries as bytes and `restore(bytes)` adds
them to a backend whose states were created first (the engine's snapshot format).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Tuple

from . import _sabot
from .serializers import get_serializer


class BackendConfig(NamedTuple):
    """kind 'memory' or 'rocksdb'; directory: RocksDB's working directory (created; must
    be empty or absent)."""
    kind: str = "memory"
    directory: str = ""

    def create(self) -> "_sabot.StateBackend":
        if self.kind == "rocksdb":
            if not self.directory:
                raise ValueError("BackendConfig(kind='rocksdb') needs directory=")
            return _sabot.StateBackend("rocksdb", os.path.abspath(self.directory))
        return _sabot.StateBackend(self.kind, "")


def MemoryBackend() -> "_sabot.StateBackend":  # noqa: N802 - the engine's class name
    """State in typed hash maps in memory."""
    return BackendConfig("memory").create()


def RocksDBBackend(directory: str) -> "_sabot.StateBackend":  # noqa: N802
    """State in a RocksDB instance under `directory`."""
    return BackendConfig("rocksdb", directory).create()


class _State:
    def __init__(self, name: str, serializer: str):
        if not name:
            raise ValueError("a state needs a name")
        self.name = name
        self._codec = get_serializer(serializer, "serializer")
        self._keys = get_serializer("json", "key serializer")

    def _key(self, key: Any) -> bytes:
        return self._keys.dumps(key)


class ValueState(_State):
    """One value per key."""

    def __init__(self, backend, name: str, serializer: str = "json"):
        super().__init__(name, serializer)
        self._state = _sabot.ValueStateBytes(backend, name)

    def get(self, key: Any, default: Any = None) -> Any:
        value = self._state.get(self._key(key))
        return default if value is None else self._codec.loads(value)

    def update(self, key: Any, value: Any) -> None:
        self._state.update(self._key(key), self._codec.dumps(value))

    def clear(self, key: Any) -> None:
        self._state.clear(self._key(key))


class MapState(_State):
    """A map per key: user keys to values."""

    def __init__(self, backend, name: str, serializer: str = "json"):
        super().__init__(name, serializer)
        self._state = _sabot.MapStateBytes(backend, name)

    def get(self, key: Any, user_key: Any, default: Any = None) -> Any:
        value = self._state.get(self._key(key), self._key(user_key))
        return default if value is None else self._codec.loads(value)

    def put(self, key: Any, user_key: Any, value: Any) -> None:
        self._state.put(self._key(key), self._key(user_key), self._codec.dumps(value))

    def remove(self, key: Any, user_key: Any) -> None:
        self._state.remove(self._key(key), self._key(user_key))

    def contains(self, key: Any, user_key: Any) -> bool:
        return self._state.get(self._key(key), self._key(user_key)) is not None

    def items(self, key: Any) -> List[Tuple[Any, Any]]:
        """The key's entries (order unspecified)."""
        return [(self._keys.loads(k), self._codec.loads(v))
                for k, v in self._state.entries(self._key(key))]

    def keys(self, key: Any) -> List[Any]:
        return [k for k, _ in self.items(key)]

    def values(self, key: Any) -> List[Any]:
        return [v for _, v in self.items(key)]

    def clear(self, key: Any) -> None:
        self._state.clear(self._key(key))


class ListState(_State):
    """A list per key, appended to."""

    def __init__(self, backend, name: str, serializer: str = "json"):
        super().__init__(name, serializer)
        self._state = _sabot.ListStateBytes(backend, name)

    def add(self, key: Any, value: Any) -> None:
        self._state.add(self._key(key), self._codec.dumps(value))

    def get(self, key: Any) -> List[Any]:
        return [self._codec.loads(v) for v in self._state.get(self._key(key))]

    def __iter__(self) -> Iterator:
        raise TypeError("iterate a key's list: state.get(key)")

    def clear(self, key: Any) -> None:
        self._state.clear(self._key(key))


class ReducingState(ValueState):
    """One value per key, folded with `reduce(current, new)` on each add."""

    def __init__(self, backend, name: str, reduce: Callable[[Any, Any], Any],
                 serializer: str = "json"):
        super().__init__(backend, name, serializer)
        self._reduce = reduce

    def add(self, key: Any, value: Any) -> None:
        current = super().get(key)
        super().update(key, value if current is None else self._reduce(current, value))


class AggregatingState(_State):
    """An accumulator per key: `create()` makes one, `add(acc, value)` returns the new
    accumulator, `result(acc)` what get() returns (Flink's AggregateFunction)."""

    def __init__(self, backend, name: str, create: Callable[[], Any],
                 add: Callable[[Any, Any], Any], result: Callable[[Any], Any],
                 serializer: str = "json"):
        super().__init__(name, serializer)
        self._state = _sabot.ValueStateBytes(backend, name)
        self._create, self._add, self._result = create, add, result

    def add(self, key: Any, value: Any) -> None:
        raw = self._state.get(self._key(key))
        accumulator = self._create() if raw is None else self._codec.loads(raw)
        self._state.update(self._key(key), self._codec.dumps(self._add(accumulator, value)))

    def get(self, key: Any) -> Optional[Any]:
        raw = self._state.get(self._key(key))
        return None if raw is None else self._result(self._codec.loads(raw))

    def clear(self, key: Any) -> None:
        self._state.clear(self._key(key))
