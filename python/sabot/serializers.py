"""Serializers of message keys and values: 'json', 'raw', 'msgpack' and 'arrow'.

A serializer turns a Python value into the bytes a topic stores and back:

- ``json``: dicts, lists, numbers, strings (orjson; keys of dicts must be strings).
- ``raw``: bytes as they are; str is encoded as UTF-8 and decoded back to str only by
  ``raw`` consumers that asked for text (values stay bytes).
- ``msgpack``: MessagePack (msgpack package).
- ``arrow``: a pyarrow RecordBatch or Table as one Arrow IPC stream message.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import msgpack
import orjson
import pyarrow as pa


class Serializer(NamedTuple):
    name: str
    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]


def _raw_dumps(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"the raw serializer takes bytes or str, got {type(value).__name__}")


def _arrow_dumps(value: Any) -> bytes:
    if not isinstance(value, (pa.RecordBatch, pa.Table)):
        raise TypeError(f"the arrow serializer takes a pyarrow RecordBatch or Table, "
                        f"got {type(value).__name__}")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, value.schema) as writer:
        writer.write(value)
    return sink.getvalue().to_pybytes()


def _arrow_loads(data: bytes) -> pa.RecordBatch:
    table = pa.ipc.open_stream(data).read_all()
    return table.combine_chunks().to_batches()[0] if table.num_rows else \
        pa.RecordBatch.from_pylist([], schema=table.schema)


SERIALIZERS = {
    # orjson's errors name the type: "Type is not JSON serializable: object".
    "json": Serializer("json", orjson.dumps, orjson.loads),
    "raw": Serializer("raw", _raw_dumps, lambda data: data),
    "msgpack": Serializer("msgpack", lambda v: msgpack.packb(v, use_bin_type=True),
                          lambda data: msgpack.unpackb(data, raw=False)),
    "arrow": Serializer("arrow", _arrow_dumps, _arrow_loads),
}


def get_serializer(name: str, what: str) -> Serializer:
    """Returns the serializer `name`; `what` names the setting in the error."""
    if isinstance(name, Serializer):
        return name
    try:
        return SERIALIZERS[name]
    except KeyError:
        if name == "avro":
            raise ValueError(
                f"{what}='avro' is not available in the Python layer yet; use 'json', "
                f"'msgpack', 'arrow' or 'raw' (the C++ Kafka source decodes Avro)") from None
        raise ValueError(f"unknown {what} '{name}'; use one of "
                         f"{', '.join(sorted(SERIALIZERS))}") from None
