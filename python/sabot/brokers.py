"""Where an App's topics live: in the process ('memory://') or in Kafka
('kafka://host:port[,host:port]'). Both give a topic the same operations: append
messages, read a set of partitions from given offsets, and report end offsets."""

from __future__ import annotations

import time
from typing import List, Optional, Tuple

import pyarrow as pa

from . import _sabot


def parse_broker(broker: str) -> Tuple[str, str]:
    """Returns ('memory', '') or ('kafka', 'host:port,...') for a broker URL."""
    if broker in ("memory://", "memory"):
        return "memory", ""
    if broker.startswith("kafka://"):
        hosts = broker[len("kafka://"):].strip("/")
        if not hosts or any(":" not in h for h in hosts.split(",")):
            raise ValueError(f"broker '{broker}': expected kafka://host:port[,host:port]")
        return "kafka", hosts
    raise ValueError(f"unknown broker '{broker}'; use 'memory://' or 'kafka://host:port'")


class MemoryReader:
    """Reads partitions of an in-process topic from given offsets."""

    def __init__(self, log, partitions: List[int], offsets: dict):
        self._log = log
        self._partitions = list(partitions)
        self._fetch = {p: offsets[p] for p in partitions}
        self._turn = 0

    def poll(self, max_messages: int, timeout: float) -> list:
        """Returns [(partition, batch)] of up to `max_messages` messages, waiting up to
        `timeout` seconds for the first (blocking; run it in an executor)."""
        found = self._read(max_messages)
        if found or timeout <= 0 or not self._partitions:
            return found
        self._log.wait_for_data(self._partitions, [self._fetch[p] for p in self._partitions],
                                timeout)
        return self._read(max_messages)

    def _read(self, max_messages: int) -> list:
        for _ in range(len(self._partitions)):
            partition = self._partitions[self._turn % len(self._partitions)]
            self._turn += 1
            batch = self._log.read(partition, self._fetch[partition], max_messages)
            if batch.num_rows:
                self._fetch[partition] += batch.num_rows
                return [(partition, batch)]
        return []

    def close(self) -> None:
        pass


class MemoryBackend:
    def __init__(self, name: str, partitions: int):
        self._log = _sabot.MemoryTopic.make(name, partitions)

    def append(self, partition: int, keys: list, values: list, timestamps: list) -> int:
        return self._log.append(partition, keys, values, timestamps)

    def end_offsets(self) -> List[int]:
        return [self._log.end_offset(p) for p in range(self._log.partitions)]

    def reader(self, partitions: List[int], offsets: dict) -> MemoryReader:
        return MemoryReader(self._log, partitions, offsets)

    def flush(self) -> None:
        pass

    def wake(self) -> None:
        self._log.wake()


class KafkaReader:
    def __init__(self, hosts: str, topic: str, partitions: List[int], offsets: dict):
        self._partitions = list(partitions)
        self._reader = _sabot.KafkaMessageReader.make(
            hosts, topic, self._partitions, [offsets[p] for p in partitions]) \
            if partitions else None

    def poll(self, max_messages: int, timeout: float) -> list:
        if self._reader is None:
            time.sleep(max(0.0, timeout))
            return []
        return self._reader.poll(max_messages, max(0.0, timeout))

    def close(self) -> None:
        self._reader = None


class DeliveryError(OSError):
    """Messages sent to Kafka were not delivered. The worker stops without writing a
    checkpoint, so a restart reads their input again from the last checkpoint."""


def _flush(writer) -> None:
    try:
        writer.flush()
    except OSError as error:
        raise DeliveryError(str(error)) from error


def _produce(writer, send, *args):
    try:
        return send(*args)
    except OSError as error:
        if writer.delivery_error() is None:
            raise  # refused before sending (a message too large, ...): nothing was lost
        # The writer refuses new messages once an earlier one was not delivered.
        raise DeliveryError(str(error)) from error


class KafkaBackend:
    """A Kafka topic, created with the declared partitions if missing. Sends share one
    idempotent producer per App; a send is durable after flush()."""

    def __init__(self, hosts: str, name: str, partitions: int, writer_source):
        self._hosts = hosts
        self._name = name
        self._writer_source = writer_source
        _sabot.kafka_ensure_topic(hosts, name, partitions)

    def append(self, partition: int, keys: list, values: list, timestamps: list) -> int:
        """Sends the messages in one call, waits until they are delivered and returns
        the offset of the first (-1 for none)."""
        writer = self._writer_source()
        first = _produce(writer, writer.produce_many, self._name, partition, keys, values,
                         timestamps)
        _flush(writer)
        return first.offset if first is not None else -1

    def produce(self, partition: int, key: Optional[bytes], value: bytes, timestamp: int):
        """Queues one message without waiting (see flush)."""
        writer = self._writer_source()
        return _produce(writer, writer.produce, self._name, partition, key, value, timestamp)

    def end_offsets(self) -> List[int]:
        return _sabot.kafka_end_offsets(self._hosts, self._name)

    def reader(self, partitions: List[int], offsets: dict) -> KafkaReader:
        return KafkaReader(self._hosts, self._name, partitions, offsets)

    def flush(self) -> None:
        _flush(self._writer_source())

    def wake(self) -> None:
        pass


def read_all(backend, partitions: int) -> List[pa.RecordBatch]:
    """Every message of every partition up to the current end offsets."""
    ends = backend.end_offsets()
    batches = []
    reader = backend.reader(list(range(partitions)), {p: 0 for p in range(partitions)})
    remaining = sum(ends)
    deadline = time.monotonic() + 30
    seen = {p: 0 for p in range(partitions)}
    while any(seen[p] < ends[p] for p in range(partitions)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading {remaining} messages took over 30 s")
        for partition, batch in reader.poll(65536, 0.5):
            keep = min(batch.num_rows, ends[partition] - seen[partition])
            if keep > 0:
                batches.append(batch.slice(0, keep))
                seen[partition] += keep
    reader.close()
    return batches
