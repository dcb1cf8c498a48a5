"""Serializers of message keys and values: 'json', 'raw', 'msgpack', 'arrow' and 'avro'.

A serializer turns a Python value into the bytes a topic stores and back:

- ``json``: dicts, lists, numbers, strings (orjson; keys of dicts must be strings). On a
  topic declared with a pyarrow ``schema``, agents' ``stream.batches()`` decode a whole
  poll with the engine's JSON codec (``_sabot.JsonCodec``) into a batch of the schema.
- ``raw``: bytes as they are; str is encoded as UTF-8 and decoded back to str only by
  ``raw`` consumers that asked for text (values stay bytes).
- ``msgpack``: MessagePack (msgpack package).
- ``arrow``: a pyarrow RecordBatch or Table as one Arrow IPC stream message.
- ``avro``: one Avro record per message, dicts in and out, encoded and decoded by the
  engine's Avro codec (C++, ``_sabot.AvroCodec``; not a Python Avro library). Avro needs
  a schema, so it is chosen per topic::

      app.topic("orders", value_serializer="avro", schema=pa.schema([...]))
      app.topic("orders", value_serializer="avro", schema={"type": "record", ...})

  ``schema`` is a pyarrow schema (the Avro schema is derived from it: nullable columns
  become ``["null", T]``) or an Avro record schema (JSON text or dict; its fields
  become the columns). Messages are plain Avro binary: the datum alone, in that one
  schema, as ``fastavro.schemaless_writer`` writes it. For the Confluent wire format
  (byte 0, a big-endian schema id, the datum) pass ``value_serializer=avro(schema,
  registry_url="http://host:8081")``: the schema is registered under ``<topic>-value``
  (or ``subject=``) at the first send and messages of any registered id are decoded;
  without ``schema`` the topic reads the latest schema of its subject. ``avro(schema,
  schema_id=N)`` writes and reads the wire format with a known id and no registry.
  Agents' ``stream.batches()`` decode a whole poll of messages in one call into a
  RecordBatch; errors name the message and the field. The codec reads flat records
  (boolean, int, long, float, double, string, bytes, fixed, enum, date and timestamp
  logical types, unions with null); nested records, arrays and maps are refused.
"""

from __future__ import annotations

import json
from typing import Any, Callable, NamedTuple, Optional, Tuple

import msgpack
import orjson
import pyarrow as pa


class Serializer(NamedTuple):
    name: str
    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]
    # Decodes many messages at once, a pyarrow binary array (or a list of bytes), up to
    # the first that fails: (RecordBatch of the rows, None) when all decode, else
    # (the rows before it, (its index, its error text)). None for serializers that
    # decode one value at a time.
    loads_batch: Optional[Callable[[Any], Tuple[pa.RecordBatch, Optional[tuple]]]] = None
    # The schema of the rows, for serializers that have one (avro, json with a schema).
    schema: Optional[pa.Schema] = None
    # As loads_batch, into a RecordBatch of `schema` for agents' stream.batches(); None
    # when batches are built from the decoded values.
    loads_columns: Optional[Callable[[Any], Tuple[pa.RecordBatch, Optional[tuple]]]] = None


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


class avro(NamedTuple):  # noqa: N801 - used like the serializer names: avro(schema)
    """The 'avro' serializer with options; completed per topic (the subject defaults to
    '<topic>-value' or '<topic>-key', the schema to the topic's ``schema=``)."""
    schema: Any = None
    registry_url: Optional[str] = None
    subject: Optional[str] = None
    schema_id: Optional[int] = None


def _row_error(codec, value: dict, error: Exception) -> ValueError:
    """Names the field of `value` that does not fit the codec's schema."""
    for field in codec.schema:
        try:
            pa.array([value.get(field.name)], type=field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as field_error:
            return ValueError(f"avro: field '{field.name}' ({field.type}): cannot encode "
                              f"{value.get(field.name)!r}: {field_error}")
    return ValueError(f"avro: cannot encode {value!r}: {error}")


def make_avro_serializer(schema: Any = None, registry_url: Optional[str] = None,
                         subject: Optional[str] = None,
                         schema_id: Optional[int] = None) -> Serializer:
    """Returns an 'avro' Serializer over the engine's codec (see the module docstring):
    dumps(dict) -> bytes, loads(bytes) -> dict, loads_batch(messages) -> (RecordBatch,
    failure) (see Serializer)."""
    from . import _sabot

    if isinstance(schema, dict):
        schema = json.dumps(schema)
    codec = _sabot.AvroCodec(schema, registry_url=registry_url, schema_id=schema_id,
                             subject=subject)
    arrow_schema = codec.schema

    def dumps(value: Any) -> bytes:
        if isinstance(value, pa.RecordBatch) and value.num_rows == 1:
            batch = value
        elif isinstance(value, dict):
            try:
                batch = pa.RecordBatch.from_pylist([value], schema=arrow_schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as error:
                raise _row_error(codec, value, error) from None
        else:
            raise TypeError(f"the avro serializer takes a dict (one record), got "
                            f"{type(value).__name__}")
        return codec.encode(batch)[0]

    def loads(data: bytes) -> dict:
        return codec.decode([data]).to_pylist()[0]

    serializer = Serializer("avro", dumps, loads, codec.decode_prefix, arrow_schema,
                            codec.decode_prefix)
    return serializer


def with_json_columns(serializer: Serializer, schema: Any) -> Serializer:
    """The 'json' serializer of a topic that declares a pyarrow `schema`: its agents'
    ``stream.batches()`` then decode a whole poll in one call of the engine's JSON codec
    (``_sabot.JsonCodec``) instead of building the batch from decoded dicts. A schema
    the codec cannot build (struct or list columns) keeps the dict path."""
    from . import _sabot

    if serializer.name != "json" or not isinstance(schema, pa.Schema):
        return serializer
    try:
        codec = _sabot.JsonCodec(schema)
    except NotImplementedError:
        return serializer
    return serializer._replace(schema=schema, loads_columns=codec.decode_prefix)


def get_serializer(name: Any, what: str, schema: Any = None,
                   topic: Optional[str] = None) -> Serializer:
    """Returns the serializer `name` (a name, a Serializer or an avro(...) request);
    `what` names the setting in errors. 'avro' is made for `schema` (a topic's
    ``schema=``) and, with a registry, for the subject '<topic>-value' or '-key'."""
    if isinstance(name, Serializer):
        return name
    if name == "avro" or isinstance(name, avro):
        options = name if isinstance(name, avro) else avro()
        chosen = options.schema if options.schema is not None else schema
        if chosen is None and options.registry_url is None:
            if what.startswith("key"):
                raise ValueError(
                    f"{what}='avro' needs the schema of the keys: pass "
                    f"{what}=sabot.serializers.avro(schema=...) (a pyarrow schema or an "
                    f"Avro record schema), or avro(registry_url='http://host:8081')")
            raise ValueError(
                f"{what}='avro' needs the schema of the records: pass schema= (a pyarrow "
                f"schema or an Avro record schema, JSON text or dict), e.g. "
                f"app.topic(name, {what}='avro', schema=...), or a registry: "
                f"{what}=sabot.serializers.avro(registry_url='http://host:8081')")
        subject = options.subject
        if subject is None and topic is not None:
            subject = f"{topic}-{'key' if what.startswith('key') else 'value'}"
        return make_avro_serializer(chosen, options.registry_url, subject,
                                    options.schema_id)
    try:
        return SERIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} '{name}'; use one of "
                         f"{', '.join(sorted([*SERIALIZERS, 'avro']))}") from None
