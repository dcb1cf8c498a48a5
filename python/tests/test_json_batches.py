"""stream.batches() on 'json' topics that declare a pyarrow schema: a whole poll is
decoded by the engine's JSON codec (_sabot.JsonCodec) into one RecordBatch of the
schema. The expected rows are written out by hand from the codec's documented rules
(src/sabot/connectors/codec/README.md), not computed by the code under test."""

import logging

import pyarrow as pa
import pytest

import sabot as sb

SCHEMA = pa.schema([("id", pa.int64()), ("city", pa.string()), ("amount", pa.float64()),
                    ("user.name", pa.string())])


def run_batches(app, topic):
    batches = []

    @app.agent(topic)
    async def collect(stream):
        async for batch in stream.batches():
            batches.append(batch)

    app.run(until_idle=True)
    return batches


def test_a_poll_decodes_into_one_batch_of_the_schema():
    app = sb.App("json-batches")
    topic = app.topic("events", schema=SCHEMA)
    # The engine's codec, not batches built from decoded dicts.
    assert topic.value_serializer.loads_columns is not None
    values = [
        {"id": 1, "city": "Oslo", "amount": 2.5, "user": {"name": "Ann"}},
        {"id": 2, "amount": 3},                       # missing keys are nulls
        {"city": "Rome", "id": 3, "extra": [1, 2]},    # other order, unknown key
        {"id": "4", "city": 5, "amount": "1e2"},       # text to number, number to text
        {"id": None, "city": None, "amount": None},
    ]
    topic.send_many(values)
    batches = run_batches(app, topic)
    table = pa.Table.from_batches(batches)
    assert table.schema == SCHEMA
    assert table.to_pylist() == [
        {"id": 1, "city": "Oslo", "amount": 2.5, "user.name": "Ann"},
        {"id": 2, "city": None, "amount": 3.0, "user.name": None},
        {"id": 3, "city": "Rome", "amount": None, "user.name": None},
        {"id": 4, "city": "5", "amount": 100.0, "user.name": None},
        {"id": None, "city": None, "amount": None, "user.name": None},
    ]


def test_many_messages_keep_their_order_across_polls():
    app = sb.App("json-batches-many")
    topic = app.topic("events", partitions=2, schema=SCHEMA)
    topic.send_many([{"id": i, "city": f"c{i % 7}", "amount": i / 4} for i in range(10_000)],
                    keys=[i % 2 for i in range(10_000)])
    batches = run_batches(app, topic)
    rows = pa.Table.from_batches(batches).to_pylist()
    assert sorted(row["id"] for row in rows) == list(range(10_000))
    for row in rows:
        assert row["city"] == f"c{row['id'] % 7}" and row["amount"] == row["id"] / 4
    # Per partition, the order of the topic.
    for key in (0, 1):
        ids = [row["id"] for row in rows if row["id"] % 2 == key]
        assert ids == sorted(ids)


def test_a_schema_the_codec_cannot_build_keeps_the_dict_path():
    schema = pa.schema([("id", pa.int64()), ("tags", pa.list_(pa.string()))])
    app = sb.App("json-batches-list")
    topic = app.topic("events", schema=schema)
    assert topic.value_serializer.loads_columns is None
    topic.send_many([{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": []}])
    batches = run_batches(app, topic)
    assert pa.Table.from_batches(batches).to_pylist() == [
        {"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": []}]


def test_a_message_that_does_not_convert_names_topic_partition_and_offset(caplog):
    app = sb.App("json-batches-bad")
    topic = app.topic("events", schema=SCHEMA)
    topic.send_many([{"id": 1}, {"id": 2}, {"id": "two"}, {"id": 4}])
    with caplog.at_level(logging.ERROR, logger="sabot.agents"):
        batches = run_batches(app, topic)
    # The messages before it arrive, then the agent raises for it and is restarted
    # after it: nothing is lost but the message, and it is logged with its place.
    ids = [row["id"] for batch in batches for row in batch.to_pylist()]
    assert ids == [1, 2, 4]
    assert [agent.restarts for agent in app.agents.values()] == [1]
    assert ("topic 'events' partition 0 offset 2: cannot decode the value: json: field "
            "'id': cannot parse \"two\" as int64") in caplog.text
    # The codec reports the failing message's index beside the rows before it.
    decoded, failure = topic.value_serializer.loads_columns([b'{"id": 1}', b'{"id": "two"}',
                                                             b'{"id": 3}'])
    assert decoded.to_pylist() == [{"id": 1, "city": None, "amount": None,
                                    "user.name": None}]
    assert failure == (1, "json: field 'id': cannot parse \"two\" as int64")
