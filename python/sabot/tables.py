"""Tables: dict-like keyed state of an App, kept in the App's state backend and
partitioned like the topics that write them.

    counts = app.Table("counts", default=int)

    @app.agent(clicks)
    async def count(stream):
        async for click in stream:
            counts[click["page"]] += 1

Each table is a state of the App's engine backend (``state="memory://"``: hash maps in
memory; ``state="rocksdb://PATH"``: RocksDB on local disk, so tables can outgrow RAM),
and checkpoints save the backend's snapshot (sabot.checkpoints). Keys and values are
stored as JSON (str, int, float, bool, None, lists, dicts with str keys): tuple keys come
back as tuples, tuple values as lists. Keys are told apart by their JSON form, so use one
type per key: 1, 1.0 and True are one dict key but three table keys.

A write-back cache of decoded values sits in front of the backend, so that ``t[k] += 1``
on a cached key costs what it costs on a dict. Changed entries go to the backend before
each checkpoint and, with a bound (``t.cache_size``: 100 000 entries on rocksdb://, none
on memory://), when the cache is full, which then drops its older half. A list or dict
read with ``t[k]`` or ``get`` counts as changed, so mutating it in place is kept; assign
it back (``t[k] = v``) if you hold it across a checkpoint or while touching many other
keys, since it may have been written (or left the cache) by then (Faust asks the same).
``len`` is kept as a count; ``iter``, ``keys``, ``values`` and ``items`` read the backend
(after writing the cache to it), in no particular order.

A key belongs to the partition of the message being processed when it is first written
(so with ``concurrency=N`` each instance owns the keys of its partitions), or to the
murmur2 partition of its JSON form outside agents.

RocksDB's working directory is a fresh ``PATH/<app id>/run-<pid>-<random>`` per App
instance: RocksDB wants an empty directory, and durable state comes from checkpoints, so
run directories that no live process holds open are removed when a new one is made.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple

import orjson

from . import _sabot
from .agents import current_event

if TYPE_CHECKING:
    from .app import App

logger = logging.getLogger("sabot.tables")

# A table is one MapState whose entries are spread over BUCKETS engine keys by the crc32
# of the key's JSON, the JSON being the map's user key: the backend lists a table's
# entries bucket by bucket, and no engine key gets so many entries that RocksDB's hash
# memtable (a small skip list per engine key) slows down. Part of the stored format.
BUCKETS = 1024
_BUCKET_KEYS = tuple(bucket.to_bytes(2, "big") for bucket in range(BUCKETS))
# Values of these types cannot be changed in place: reading them never dirties an entry.
_IMMUTABLE = frozenset((int, float, str, bool, type(None), tuple, bytes))
_MISSING = object()
_RUN = re.compile(r"^run-(\d+)-")
DEFAULT_CACHE_SIZE = 100_000


def _bucket(key_bytes: bytes) -> bytes:
    return _BUCKET_KEYS[zlib.crc32(key_bytes) % BUCKETS]


def _clear(state: "_sabot.MapStateBytes") -> None:
    for bucket in _BUCKET_KEYS:
        state.clear(bucket)


def _tag_key(key: Any) -> Any:
    if type(key) is tuple:
        return {"__tuple__": [_tag_key(k) for k in key]}
    return key


def _untag_key(key: Any) -> Any:
    if type(key) is dict and "__tuple__" in key:
        return tuple(_untag_key(k) for k in key["__tuple__"])
    return key


class Table(MutableMapping):
    def __init__(self, app: "App", name: str, default: Optional[Callable[[], Any]] = None,
                 partitions: Optional[int] = None, cache_size: Optional[int] = None):
        if not name or not isinstance(name, str):
            raise ValueError(f"a table needs a name, e.g. app.Table('counts'), got {name!r}")
        if default is not None and not callable(default):
            raise TypeError(f"table '{name}': default must be callable (e.g. int, list), "
                            f"got {default!r}")
        if cache_size is not None and cache_size < 1:
            raise ValueError(f"table '{name}': cache_size must be at least 1, got "
                             f"{cache_size}")
        self.app = app
        self.name = name
        self.default = default
        # Bounded on RocksDB, so that tables can outgrow RAM. In memory a bound would
        # only trade decoded values for encoded ones, and each miss costs a few times
        # a dict access: unbounded unless asked.
        if cache_size is None and app._table_backend.kind == "rocksdb":
            cache_size = DEFAULT_CACHE_SIZE
        self.cache_size = cache_size
        self._given_partitions = partitions
        self.partitions = partitions or app.default_partitions
        self._state = app._table_backend.state(name)
        # The cache, each key in at most one of the two dicts. _dirty: values changed, or
        # read and changeable in place, since the last flush (all written by the next);
        # so that t[k] and t[k] = v on them are one dict operation each. _clean: values
        # the backend has as they are. _partitions: the partition of every cached key.
        self._dirty: dict = {}
        self._clean: dict = {}
        self._partitions: dict = {}
        self._size = 0
        # Whether the cache holds every entry (nothing dropped since the table was new,
        # cleared or wholly loaded): then a key it lacks needs no backend lookup.
        self._complete = True

    def __repr__(self) -> str:
        return f"<Table {self.name} keys={self._size} partitions={self.partitions}>"

    # ---- the backend -----------------------------------------------------------------

    def _key_bytes(self, key: Any) -> bytes:
        try:
            return orjson.dumps(_tag_key(key))
        except TypeError as error:
            raise TypeError(f"table '{self.name}': key {key!r} is not JSON ({error}); "
                            f"table keys are str, int, float, bool, None or tuples of "
                            f"them") from None

    def _read(self, key: Any) -> Optional[bytes]:
        """The stored [partition, value] of `key`, or None."""
        key_bytes = self._key_bytes(key)
        return self._state.get(_bucket(key_bytes), key_bytes)

    def _lookup(self, key: Any) -> Any:
        """The value of `key`, which is not in _dirty, or _MISSING. A value that can be
        changed in place moves to _dirty, since the caller may change it."""
        value = self._clean.get(key, _MISSING)
        if value is _MISSING:
            if self._complete:
                return _MISSING
            raw = self._read(key)
            if raw is None:
                return _MISSING
            partition, value = orjson.loads(raw)
            self._admit(key, value, partition, type(value) not in _IMMUTABLE)
        elif type(value) not in _IMMUTABLE:
            self._dirty[key] = self._clean.pop(key)
        return value

    def _admit(self, key: Any, value: Any, partition: int, dirty: bool) -> None:
        """Caches `key`, which is not cached. Room is made first, so that the value the
        caller goes on with stays where it is put."""
        if self.cache_size is not None and \
                len(self._dirty) + len(self._clean) >= self.cache_size:
            self._shrink()
        (self._dirty if dirty else self._clean)[key] = value
        self._partitions[key] = partition

    def _shrink(self) -> None:
        """Writes what changed, then drops the older half of the cache."""
        self.flush()
        excess = len(self._clean) - self.cache_size // 2
        for key in list(itertools.islice(self._clean, excess)):
            del self._clean[key]
            del self._partitions[key]
        self._complete = False

    def flush(self) -> None:
        """Writes the changed entries of the cache to the backend (done before every
        checkpoint and when the cache is full)."""
        for key, value in self._dirty.items():
            try:
                raw = orjson.dumps([self._partitions[key], value])
            except TypeError as error:
                raise TypeError(f"table '{self.name}': the value of key {key!r} is not "
                                f"JSON ({error}); table values are stored as JSON") from None
            key_bytes = self._key_bytes(key)
            self._state.put(_bucket(key_bytes), key_bytes, raw)
        self._clean.update(self._dirty)
        self._dirty.clear()

    def _forget(self) -> None:
        self._dirty.clear()
        self._clean.clear()
        self._partitions.clear()

    def _stored(self) -> Iterator[Tuple[Any, int, Any]]:
        """(key, partition, value) of every entry the backend has."""
        for bucket in _BUCKET_KEYS:
            for raw_key, raw in self._state.entries(bucket):
                partition, value = orjson.loads(raw)
                yield _untag_key(orjson.loads(raw_key)), partition, value

    def _reload(self) -> None:
        """Replaces the cache after the backend's contents changed (a restore): without
        a bound it loads every entry, as a dict would hold them."""
        self._forget()
        if self.cache_size is None:
            for key, partition, value in self._stored():
                self._clean[key] = value
                self._partitions[key] = partition
            self._size = len(self._clean)
        else:
            self._size = sum(len(self._state.entries(bucket)) for bucket in _BUCKET_KEYS)
        self._complete = self.cache_size is None

    def _entries(self) -> List[Tuple[Any, Any]]:
        if self._complete:
            return [*self._clean.items(), *self._dirty.items()]
        self.flush()
        # A cached value is the object callers may hold; the backend has a copy.
        return [(key, self._clean.get(key, value)) for key, _, value in self._stored()]

    # ---- partitions ------------------------------------------------------------------

    def _new_partition(self, key: Any) -> int:
        event = current_event.get()
        if event is not None:
            # Partitioned like the topic that writes it, unless partitions were given.
            return event[1] if self._given_partitions is None \
                else event[1] % self._given_partitions
        return _sabot.key_partition(orjson.dumps(key, option=orjson.OPT_NON_STR_KEYS),
                                    self.partitions)

    def partition_of(self, key: Any) -> Optional[int]:
        if key not in self._dirty and self._lookup(key) is _MISSING:
            return None
        return self._partitions[key]

    # ---- the dict API ----------------------------------------------------------------

    def _set_uncached(self, key: Any, value: Any) -> None:
        """t[key] = value for a key not in _dirty: in _clean, only in the backend (both
        keep their partition), or new."""
        if self._clean.pop(key, _MISSING) is not _MISSING:
            self._dirty[key] = value
            return
        raw = None if self._complete else self._read(key)
        if raw is None:
            self._add_new(key, value)
        else:
            self._admit(key, value, orjson.loads(raw)[0], True)

    def _add_new(self, key: Any, value: Any) -> None:
        self._key_bytes(key)  # a key that cannot be stored fails now, not at a flush
        self._size += 1
        self._admit(key, value, self._new_partition(key), True)

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._dirty[key]
        except KeyError:
            pass
        value = self._lookup(key)
        if value is _MISSING:
            if self.default is None:
                raise KeyError(key)
            value = self.default()
            self._add_new(key, value)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in self._dirty:
            self._dirty[key] = value
        else:
            self._set_uncached(key, value)

    def __delitem__(self, key: Any) -> None:
        if key not in self._dirty and self._lookup(key) is _MISSING:
            raise KeyError(key)
        self._dirty.pop(key, None)
        self._clean.pop(key, None)
        del self._partitions[key]
        key_bytes = self._key_bytes(key)
        self._state.remove(_bucket(key_bytes), key_bytes)
        self._size -= 1

    def __contains__(self, key: object) -> bool:
        return key in self._dirty or self._lookup(key) is not _MISSING

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return iter([key for key, _ in self._entries()])

    def items(self) -> List[Tuple[Any, Any]]:  # type: ignore[override]
        """Every (key, value), read in one pass over the backend."""
        return self._entries()

    def values(self) -> List[Any]:  # type: ignore[override]
        return [value for _, value in self._entries()]

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of `key`, or `default` (the table's default factory is not used)."""
        try:
            return self._dirty[key]
        except KeyError:
            pass
        value = self._lookup(key)
        return default if value is _MISSING else value

    def clear(self) -> None:
        _clear(self._state)
        self._forget()
        self._size = 0
        self._complete = True

    def as_dict(self) -> dict:
        return dict(self._entries())


class TableBackend:
    """The App's engine state backend: one MapState per table. Created when first
    needed (a table, or a checkpoint), not with the App."""

    def __init__(self, app_id: str, state: str):
        self.kind = "rocksdb" if state.startswith("rocksdb://") else "memory"
        self._root = state[len("rocksdb://"):] if self.kind == "rocksdb" else ""
        self._app_id = app_id
        self.directory: Optional[str] = None
        self._backend = None
        # Every state the backend has, by name: a snapshot restores only into a backend
        # that has all of its states.
        self._states: Dict[str, Any] = {}

    def _engine(self) -> "_sabot.StateBackend":
        if self._backend is None:
            if self.kind == "rocksdb":
                self.directory = _fresh_run_directory(self._root, self._app_id)
            self._backend = _sabot.StateBackend(self.kind, self.directory or "")
        return self._backend

    def state(self, name: str) -> "_sabot.MapStateBytes":
        if name not in self._states:
            self._states[name] = _sabot.MapStateBytes(self._engine(), name)
        return self._states[name]

    def names(self) -> List[str]:
        return sorted(self._states)

    def snapshot(self, tables: Dict[str, Table]) -> bytes:
        """Writes every table's cache to the backend and returns the backend's snapshot."""
        for table in tables.values():
            table.flush()
        return self._engine().snapshot()

    def restore(self, tables: Dict[str, Table], names: List[str], snapshot: bytes) -> None:
        """Replaces the tables in `names` by their entries in `snapshot`."""
        for name in names:
            _clear(self.state(name))
        self._engine().restore(snapshot)
        for name in names:
            if name in tables:
                tables[name]._reload()
            else:
                logger.warning("the checkpoint has table %s, which app %s no longer has; "
                               "its entries are dropped", name, self._app_id)
                _clear(self.state(name))


def _fresh_run_directory(root: str, app_id: str) -> str:
    app_directory = os.path.join(root, re.sub(r"[^A-Za-z0-9_-]", "_", app_id))
    os.makedirs(app_directory, exist_ok=True)
    for name in os.listdir(app_directory):
        match = _RUN.match(name)
        # Runs of this process may belong to its other Apps (and probing their lock would
        # release it: fcntl locks are per process).
        if match is None or int(match.group(1)) == os.getpid():
            continue
        path = os.path.join(app_directory, name)
        if not _in_use(path, int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=app_directory)


def _in_use(run_directory: str, pid: int) -> bool:
    """Whether a process has the RocksDB instance of `run_directory` open: RocksDB holds
    an fcntl lock on its LOCK file while open (the kernel drops it when the process
    dies). Before RocksDB made the file, whether the process that made it lives."""
    try:
        descriptor = os.open(os.path.join(run_directory, "LOCK"), os.O_RDWR)
    except FileNotFoundError:
        return _alive(pid)
    except OSError:
        return True
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(descriptor)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
