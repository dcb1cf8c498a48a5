"""The 'avro' serializer of the App layer over the engine's Avro codec (_sabot.AvroCodec):
round trips, byte-exactness against fastavro (an independent encoder and decoder),
App topics on memory://, the batches() path, the Confluent wire format with a schema
id and with a (fake, in-process) Schema Registry, and errors."""

import datetime
import io
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fastavro
import pyarrow as pa
import pytest

import sabot as sb
from sabot import _sabot
from sabot.brokers import read_all
from sabot.serializers import avro, get_serializer

ORDER = {
    "type": "record", "name": "Order", "namespace": "com.example",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "qty", "type": "int"},
        {"name": "price", "type": "double"},
        {"name": "ratio", "type": "float"},
        {"name": "paid", "type": "boolean"},
        {"name": "item", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "discount", "type": ["null", "double"], "default": None},
        {"name": "blob", "type": "bytes"},
    ],
}


def order(i):
    return {"id": i * 1_000_003 - 7, "qty": -i, "price": i * 0.25 + 0.1,
            "ratio": i / 4,  # exact in float32
            "paid": i % 2 == 0, "item": f"item-{i}-\u00e9",
            "note": None if i % 3 else f"note {i}",
            "discount": None if i % 2 else i * 1.5, "blob": bytes([i % 256, 0, 255])}


def fastavro_bytes(schema, record):
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def fastavro_read(schema, data):
    return fastavro.schemaless_reader(io.BytesIO(data), fastavro.parse_schema(schema))


# ---- the serializer and fastavro --------------------------------------------------------

def test_dicts_round_trip_and_match_fastavro_byte_for_byte():
    serializer = get_serializer("avro", "value_serializer", schema=ORDER)
    assert serializer.schema == pa.schema([
        pa.field("id", pa.int64(), nullable=False), pa.field("qty", pa.int32(), False),
        pa.field("price", pa.float64(), False), pa.field("ratio", pa.float32(), False),
        pa.field("paid", pa.bool_(), False), pa.field("item", pa.string(), False),
        pa.field("note", pa.string()), pa.field("discount", pa.float64()),
        pa.field("blob", pa.binary(), False)])
    for i in range(20):
        record = order(i)
        ours = serializer.dumps(record)
        # Our bytes are fastavro's bytes, and each side reads the other's.
        assert ours == fastavro_bytes(ORDER, record)
        assert fastavro_read(ORDER, ours) == record
        assert serializer.loads(fastavro_bytes(ORDER, record)) == record
        assert serializer.loads(ours) == record


def test_a_pyarrow_schema_derives_the_avro_schema():
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), ("name", pa.string()),
                        ("score", pa.float64()), ("day", pa.date32()),
                        ("at", pa.timestamp("ms", tz="UTC"))])
    serializer = get_serializer("avro", "value_serializer", schema=schema)
    codec = _sabot.AvroCodec(schema)
    writer = json.loads(codec.writer_schema)
    assert codec.framing == "plain" and codec.schema_id is None
    assert [f["name"] for f in writer["fields"]] == ["id", "name", "score", "day", "at"]
    assert writer["fields"][0]["type"] == "long"
    assert writer["fields"][1]["type"] == ["null", "string"]
    at = datetime.datetime(2024, 5, 17, 12, 30, 15, 250000, tzinfo=datetime.timezone.utc)
    records = [
        {"id": 1, "name": "a", "score": 0.5, "day": datetime.date(2024, 5, 17), "at": at},
        {"id": 2, "name": None, "score": None, "day": None, "at": None},
    ]
    for record in records:
        data = serializer.dumps(record)
        assert data == fastavro_bytes(writer, record)
        assert serializer.loads(data) == record
        assert fastavro_read(writer, data) == record


def test_nullable_union_in_either_order_and_enums_and_fixed_are_read():
    schema = {"type": "record", "name": "r", "fields": [
        {"name": "a", "type": ["string", "null"]},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["X", "Y"]}},
        {"name": "hash", "type": {"type": "fixed", "name": "H", "size": 4}},
        {"name": "n", "type": ["null", "long"]}]}
    serializer = get_serializer("avro", "value_serializer", schema=schema)
    records = [{"a": "x", "kind": "Y", "hash": b"abcd", "n": None},
               {"a": None, "kind": "X", "hash": b"\x00\x01\x02\x03", "n": -5}]
    for record in records:
        assert serializer.loads(fastavro_bytes(schema, record)) == record
    # The encoder writes nullable columns as ["null", T] and has no enum or fixed: it
    # refuses to write in this schema rather than write other bytes.
    with pytest.raises(ValueError, match="field 'a' is union \\[string, null\\] there"):
        serializer.dumps(records[0])


def test_logical_types_of_an_avro_schema_become_dates_and_utc_timestamps():
    schema = {"type": "record", "name": "t", "fields": [
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": ["null", {"type": "long",
                                         "logicalType": "timestamp-micros"}]}]}
    serializer = get_serializer("avro", "value_serializer", schema=schema)
    assert serializer.schema == pa.schema([pa.field("day", pa.date32(), nullable=False),
                                           ("at", pa.timestamp("us", tz="UTC"))])
    at = datetime.datetime(1969, 12, 31, 23, 59, 59, 123456, tzinfo=datetime.timezone.utc)
    for record in ({"day": datetime.date(2024, 2, 29), "at": at},
                   {"day": datetime.date(1900, 1, 1), "at": None}):
        data = serializer.dumps(record)
        assert data == fastavro_bytes(schema, record)
        assert serializer.loads(data) == record


def test_nested_records_are_refused_naming_the_field_or_skipped_when_not_read():
    schema = {"type": "record", "name": "Outer", "fields": [
        {"name": "id", "type": "long"},
        {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
            {"name": "city", "type": "string"}, {"name": "zip", "type": "int"}]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "after", "type": "string"}]}
    with pytest.raises(NotImplementedError, match="field 'address' is record"):
        get_serializer("avro", "value_serializer", schema=schema)
    # With the columns to read given as a pyarrow schema, nested fields are skipped.
    codec = _sabot.AvroCodec(pa.schema([("id", pa.int64()), ("after", pa.string())]),
                             writer_schema=json.dumps(schema))
    records = [{"id": i, "address": {"city": f"c{i}", "zip": i}, "tags": ["a"] * i,
                "after": f"after {i}"} for i in range(3)]
    batch = codec.decode([fastavro_bytes(schema, r) for r in records])
    assert batch.to_pylist() == [{"id": r["id"], "after": r["after"]} for r in records]


def test_decode_takes_a_whole_list_or_binary_array_in_one_call():
    codec = _sabot.AvroCodec(json.dumps(ORDER))
    records = [order(i) for i in range(1000)]
    messages = [fastavro_bytes(ORDER, r) for r in records]
    batch = codec.decode(messages)
    assert isinstance(batch, pa.RecordBatch) and batch.schema == codec.schema
    assert batch.to_pylist() == records
    assert codec.decode(pa.array(messages, pa.binary())).to_pylist() == records
    assert codec.decode(pa.array(messages, pa.large_binary())).num_rows == 1000
    assert codec.decode([]).num_rows == 0
    encoded = codec.encode(batch)
    assert encoded == messages


# ---- errors -------------------------------------------------------------------------------

def test_avro_without_a_schema_says_to_pass_one():
    app = sb.App("t")
    with pytest.raises(ValueError, match="value_serializer='avro' needs the schema.*"
                                         "pass schema="):
        app.topic("orders", value_serializer="avro")
    app = sb.App("t", value_serializer="avro")
    with pytest.raises(ValueError, match="pass schema="):
        app.topic("orders")
    with pytest.raises(ValueError, match="key_serializer='avro' needs the schema of the keys"):
        sb.App("t").topic("orders", key_serializer="avro")


def test_bad_messages_name_the_message_and_the_field():
    codec = _sabot.AvroCodec(json.dumps(ORDER))
    good = fastavro_bytes(ORDER, order(1))
    # The fields before 'note' take `note_at` bytes; then its union branch index, set to
    # 4 (zigzag 0x08), which the union [null, string] does not have.
    before = {"type": "record", "name": "p", "fields": ORDER["fields"][:6]}
    note_at = len(fastavro_bytes(before, {f["name"]: order(1)[f["name"]]
                                          for f in before["fields"]}))
    bad = bytearray(good)
    bad[note_at] = 0x08
    with pytest.raises(ValueError, match=f"^message 2: avro: field 'note' \\(union "
                                         f"\\[null, string\\]\\) of the writer schema at "
                                         f"byte {note_at}: union branch index out of range"):
        codec.decode([good, good, bytes(bad)])
    with pytest.raises(ValueError, match="^message 1: avro: field 'blob' .* the message ends"):
        codec.decode([good, good[:-2]])
    with pytest.raises(ValueError, match="^message 0: avro: the datum of the writer schema "
                                         "ends at byte"):
        codec.decode([good + b"\x00"])
    with pytest.raises(ValueError, match="^message 1: avro: the message is null"):
        codec.decode([good, None])
    with pytest.raises(TypeError, match="message 0 is int"):
        codec.decode([5])
    # A failed call leaves nothing behind for the next one.
    assert codec.decode([good]).to_pylist() == [order(1)]

    serializer = get_serializer("avro", "value_serializer", schema=ORDER)
    with pytest.raises(ValueError, match="^avro: field 'qty' \\(int32\\): cannot encode 'many'"):
        serializer.dumps({**order(1), "qty": "many"})
    with pytest.raises(ValueError, match="column 'item' is not nullable"):
        serializer.dumps({**order(1), "item": None})
    with pytest.raises(TypeError, match="takes a dict"):
        serializer.dumps([1, 2])
    with pytest.raises(ValueError, match="message 0: avro: field 'id'"):
        serializer.loads(b"\x80")


# ---- App topics ---------------------------------------------------------------------------

def test_app_agent_receives_dicts_from_an_avro_topic_and_writes_avro():
    app = sb.App("t")
    orders = app.topic("orders", partitions=2, value_serializer="avro", schema=ORDER)
    # An agent's sink with a pyarrow schema.
    totals_schema = pa.schema([pa.field("id", pa.int64(), nullable=False),
                               ("total", pa.float64())])
    totals = app.topic("totals", value_serializer="avro", schema=totals_schema)
    assert orders.schema.field("qty").type == pa.int32()
    got, forwarded = [], []

    @app.agent(orders, sink=[totals])
    async def price(stream):
        async for value in stream:
            got.append(value)
            yield {"id": value["id"], "total": value["price"] * -value["qty"]}

    @app.agent(totals)
    async def keep(stream):
        async for value in stream:
            forwarded.append(value)

    sent = [order(i) for i in range(300)]
    orders.send_many(sent, keys=[r["id"] % 7 for r in sent])
    app.run(until_idle=True)
    assert sorted(got, key=lambda r: r["id"]) == sent
    assert sorted(forwarded, key=lambda r: r["id"]) == \
        [{"id": r["id"], "total": r["price"] * -r["qty"]} for r in sent]
    # The topic holds plain Avro that fastavro reads.
    stored = [v for batch in read_all(orders._backend, orders.partitions)
              for v in batch.column(1).to_pylist()]
    assert sorted((fastavro_read(ORDER, v) for v in stored), key=lambda r: r["id"]) == sent
    assert app.stream(orders).to_pylist() == \
        [r for b in read_all(orders._backend, 2) for r in
         orders.value_serializer.loads_batch(b.column(1))[0].to_pylist()]


def test_batches_decode_a_whole_poll_through_the_codec():
    app = sb.App("t")
    orders = app.topic("orders", value_serializer="avro", schema=ORDER)
    batches = []

    @app.agent(orders)
    async def collect(stream):
        async for batch in stream.batches():
            batches.append(batch)

    sent = [order(i) for i in range(5000)]
    # Messages written by fastavro, sent as raw bytes.
    raw = app.topic("orders-raw", value_serializer="raw")
    raw._backend_instance = orders._backend
    raw.send_many([fastavro_bytes(ORDER, r) for r in sent])
    app.run(until_idle=True)
    assert all(b.schema == orders.schema for b in batches)
    # One batch per poll (up to 4096 messages), not one per message.
    assert len(batches) == 2
    assert [r for b in batches for r in b.to_pylist()] == sent


def test_stream_to_an_avro_topic_sends_a_message_per_row():
    app = sb.App("t")
    topic = app.topic("out", value_serializer="avro",
                      schema=pa.schema([("n", pa.int64()), ("s", pa.string())]))
    rows = [{"n": i, "s": str(i)} for i in range(50)]
    assert sb.Stream.from_pylist(rows).to(topic)["rows"] == 50
    assert sorted(app.stream(topic).to_pylist(), key=lambda r: r["n"]) == rows


def test_confluent_wire_format_with_a_known_schema_id():
    serializer = get_serializer(avro(ORDER, schema_id=42), "value_serializer")
    data = serializer.dumps(order(3))
    assert data[:5] == b"\x00" + struct.pack(">I", 42)
    assert data[5:] == fastavro_bytes(ORDER, order(3))
    assert serializer.loads(data) == order(3)
    with pytest.raises(ValueError, match="^message 0: avro: not Confluent wire format: first byte is "
                                         "0x84 at offset 0"):
        serializer.loads(data[5:])
    with pytest.raises(ValueError, match="writer schema id 7 but the decoder knows only "
                                         "schema id 42 and has no schema registry"):
        serializer.loads(b"\x00" + struct.pack(">I", 7) + data[5:])


# ---- a Schema Registry --------------------------------------------------------------------

class FakeRegistry:
    """The three endpoints of the Confluent Schema Registry API the codec uses."""

    def __init__(self):
        self.schemas = []  # id - 1 -> schema text
        self.subjects = {}  # subject -> [ids]
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                parts = self.path.strip("/").split("/")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert parts[0] == "subjects" and parts[2] == "versions"
                self.reply(200, {"id": registry.add(parts[1], body["schema"])})

            def do_GET(self):  # noqa: N802
                parts = self.path.strip("/").split("/")
                if parts[:2] == ["schemas", "ids"]:
                    index = int(parts[2]) - 1
                    if 0 <= index < len(registry.schemas):
                        self.reply(200, {"schema": registry.schemas[index]})
                    else:
                        self.reply(404, {"error_code": 40403, "message": "Schema not found"})
                elif parts[0] == "subjects" and parts[2:] == ["versions", "latest"]:
                    ids = registry.subjects.get(parts[1])
                    if not ids:
                        self.reply(404, {"error_code": 40401, "message": "Subject not found"})
                    else:
                        self.reply(200, {"subject": parts[1], "id": ids[-1],
                                         "version": len(ids),
                                         "schema": registry.schemas[ids[-1] - 1]})
                else:
                    self.reply(404, {"error_code": 404, "message": "no such endpoint"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, subject, schema):
        if schema in self.schemas:
            schema_id = self.schemas.index(schema) + 1
        else:
            self.schemas.append(schema)
            schema_id = len(self.schemas)
        ids = self.subjects.setdefault(subject, [])
        if schema_id not in ids:
            ids.append(schema_id)
        return schema_id

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry():
    fake = FakeRegistry()
    yield fake
    fake.close()


def test_registry_registers_the_topic_subject_and_decodes_any_registered_id(registry):
    other = registry.add("elsewhere", json.dumps(
        {"type": "record", "name": "Old", "fields": [{"name": "id", "type": "int"},
                                                     {"name": "extra", "type": "string"},
                                                     {"name": "item", "type": "string"}]}))
    app = sb.App("t")
    orders = app.topic("orders", value_serializer=avro(registry_url=registry.url),
                       schema=ORDER)
    data = orders.value_serializer.dumps(order(1))
    assert registry.subjects == {"elsewhere": [other], "orders-value": [2]}
    assert data[:5] == b"\x00" + struct.pack(">I", 2)
    assert data[5:] == fastavro_bytes(ORDER, order(1))

    # A consumer without a schema reads the latest of the subject from the registry.
    reader = get_serializer(avro(registry_url=registry.url), "value_serializer",
                            topic="orders")
    assert reader.schema == orders.schema
    assert reader.loads(data) == order(1)
    # A message in another registered schema is read by name, missing fields are null.
    old = b"\x00" + struct.pack(">I", other) + fastavro_bytes(
        json.loads(registry.schemas[other - 1]), {"id": 9, "extra": "x", "item": "pen"})
    decoded, failure = reader.loads_batch([data, old])
    assert failure is None
    got = decoded.to_pylist()
    assert got[0] == order(1)
    assert (got[1]["id"], got[1]["item"], got[1]["note"], got[1]["paid"]) == \
        (9, "pen", None, None)
    with pytest.raises(OSError, match="/schemas/ids/77 returned error 40403"):
        reader.loads(b"\x00" + struct.pack(">I", 77) + data[5:])

    received = []

    @app.agent(orders)
    async def keep(stream):
        async for value in stream:
            received.append(value)

    orders.send_many([order(i) for i in range(10)])
    app.run(until_idle=True)
    assert received == [order(i) for i in range(10)]


def test_registry_without_a_subject_schema_fails_with_the_registry_error(registry):
    with pytest.raises(OSError, match="versions/latest returned error 40401"):
        get_serializer(avro(registry_url=registry.url), "value_serializer", topic="nope")
