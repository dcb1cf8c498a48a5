"""Topics of an App: named, partitioned message logs, in the process ('memory://') or
in Kafka (see sabot.brokers); sends serialize keys and values with the topic's
serializers."""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Optional

import pyarrow as pa

from . import _sabot
from .brokers import KafkaBackend, MemoryBackend
from .serializers import Serializer, get_serializer, with_json_columns

if TYPE_CHECKING:
    from .app import App


class RecordMetadata(NamedTuple):
    """Where a sent message went."""
    topic: str
    partition: int
    offset: int
    timestamp: int


class Topic:
    """A topic: ``await topic.send(value=..., key=...)`` or ``topic.send_sync(...)``."""

    def __init__(self, app: "App", name: str, partitions: int,
                 key_serializer: Serializer, value_serializer: Serializer,
                 schema: Optional[pa.Schema]):
        if not name or not isinstance(name, str):
            raise ValueError("a topic needs a non-empty name")
        self.app = app
        self.name = name
        self.partitions = partitions
        self.key_serializer = key_serializer
        self.value_serializer = value_serializer
        self.schema = schema
        self._backend_instance = None
        self._pending: dict = {}
        self._pending_count = 0
        # Queued messages of one group share the time the group was started.
        self._pending_time = 0
        self._round_robin = itertools.cycle(range(partitions))

    def __repr__(self) -> str:
        return f"<Topic {self.name} partitions={self.partitions}>"

    @property
    def _backend(self):
        """The log behind the topic, made on first use so that the broker can still be
        changed after the app's module declared its topics (sabot worker -b URL)."""
        if self._backend_instance is None:
            kind, hosts = self.app._broker
            self._backend_instance = (
                KafkaBackend(hosts, self.name, self.partitions, self.app._kafka_writer)
                if kind == "kafka" else MemoryBackend(self.name, self.partitions))
        return self._backend_instance

    def partition_for(self, key: Optional[bytes]) -> int:
        """Messages with a key go to the partition Kafka's Java producer would choose
        (murmur2 of the serialized key), as the engine's Kafka sink does: every writer
        puts a key in the same partition. Messages without a key are spread
        round-robin."""
        if key is None:
            return next(self._round_robin)
        return _sabot.key_partition(key, self.partitions)

    def _prepare(self, value: Any, key: Any, partition: Optional[int]):
        key_bytes = None if key is None else self.key_serializer.dumps(key)
        value_bytes = self.value_serializer.dumps(value)
        if partition is None:
            partition = self.partition_for(key_bytes)
        elif not 0 <= partition < self.partitions:
            raise ValueError(f"topic '{self.name}' has partitions 0 to "
                             f"{self.partitions - 1}, not {partition}")
        return key_bytes, value_bytes, partition

    def send_sync(self, value: Any = None, key: Any = None, partition: Optional[int] = None,
                  timestamp: Optional[int] = None) -> RecordMetadata:
        """Appends one message and returns where it went. `timestamp` is in
        milliseconds since the epoch (default: now)."""
        key_bytes, value_bytes, partition = self._prepare(value, key, partition)
        ts = int(time.time() * 1000) if timestamp is None else int(timestamp)
        offset = self._backend.append(partition, [key_bytes], [value_bytes], [ts])
        return RecordMetadata(self.name, partition, offset, ts)

    def send_deferred(self, value: Any = None, key: Any = None) -> None:
        """Queues a message that an agent yielded: queued messages are appended in
        groups (per 1024, when an agent waits for input, and before checkpoints and
        idle checks), one append per partition instead of one per message."""
        value_bytes = self.value_serializer.dumps(value)
        if key is None:
            key_bytes = None
            partition = next(self._round_robin) if self.partitions > 1 else 0
        else:
            key_bytes = self.key_serializer.dumps(key)
            partition = _sabot.key_partition(key_bytes, self.partitions)
        pending = self._pending.get(partition)
        if pending is None:
            pending = self._pending[partition] = ([], [])
            if not self._pending_count:
                self._pending_time = int(time.time() * 1000)
        pending[0].append(key_bytes)
        pending[1].append(value_bytes)
        self._pending_count += 1
        if self._pending_count >= 1024:
            self.flush_pending()

    def flush_pending(self) -> None:
        """Appends the queued messages (see send_deferred); they carry the time the
        first of them was queued."""
        if not self._pending_count:
            return
        pending, self._pending, self._pending_count = self._pending, {}, 0
        for partition, (keys, values) in pending.items():
            timestamps = [self._pending_time] * len(values)
            self._backend.append(partition, keys, values, timestamps)

    async def send(self, value: Any = None, key: Any = None, partition: Optional[int] = None,
                   timestamp: Optional[int] = None) -> RecordMetadata:
        """Appends one message. On Kafka the message is queued and delivered in the
        background (offset -1 in the result); checkpoints and the worker's stop wait
        for delivery. On memory:// it is appended at once."""
        if isinstance(self._backend, KafkaBackend):
            key_bytes, value_bytes, partition = self._prepare(value, key, partition)
            ts = int(time.time() * 1000) if timestamp is None else int(timestamp)
            self._backend.produce(partition, key_bytes, value_bytes, ts)
            return RecordMetadata(self.name, partition, -1, ts)
        return self.send_sync(value=value, key=key, partition=partition, timestamp=timestamp)

    def send_many(self, values: Iterable[Any], keys: Optional[Iterable[Any]] = None,
                  timestamps: Optional[Iterable[int]] = None) -> int:
        """Appends many messages, grouped per partition into one append each; returns
        how many were sent."""
        values = list(values)
        keys = [None] * len(values) if keys is None else list(keys)
        now = int(time.time() * 1000)
        timestamps = [now] * len(values) if timestamps is None else [int(t) for t in timestamps]
        if not len(keys) == len(values) == len(timestamps):
            raise ValueError("send_many: values, keys and timestamps differ in length")
        per_partition: dict = {}
        for value, key, ts in zip(values, keys, timestamps):
            key_bytes, value_bytes, partition = self._prepare(value, key, None)
            group = per_partition.setdefault(partition, ([], [], []))
            group[0].append(key_bytes)
            group[1].append(value_bytes)
            group[2].append(ts)
        for partition, (k, v, t) in per_partition.items():
            self._backend.append(partition, k, v, t)
        return len(values)

    def end_offsets(self) -> list:
        """The next offset of every partition (how many messages each holds)."""
        return self._backend.end_offsets()


def make_topic(app: "App", name: str, partitions: int, key_serializer: Any,
               value_serializer: Any, schema: Any) -> Topic:
    if not isinstance(partitions, int) or partitions < 1:
        raise ValueError(f"topic '{name}': partitions must be a positive int, got {partitions!r}")
    key = get_serializer(key_serializer or app.key_serializer, "key_serializer", topic=name)
    # 'avro' values are made for `schema` (pyarrow or Avro); the topic's schema is then
    # the codec's pyarrow schema of the records.
    value = get_serializer(value_serializer or app.value_serializer, "value_serializer",
                           schema=schema, topic=name)
    if value.schema is not None:
        schema = value.schema
    value = with_json_columns(value, schema)
    return Topic(app, name, partitions, key, value, schema)
