"""Agents' policies for messages their topic's serializer cannot decode:
on_bad_record="fail" (the default) raises DecodeError in the agent after the messages
before it, and the agent restarts after it at once; "skip" counts and logs each and goes
on without a restart;
"dead_letter" also appends it, with its origin and the error, to a dead-letter topic.
Every stream form (values, items, take, batches from dicts and from the engine's
codec) reads every good message, in order, exactly once."""

import base64
import logging

import orjson
import pyarrow as pa
import pytest

import sabot as sb
from sabot.brokers import read_all

MODES = ["values", "items", "take", "dict_batches", "codec_batches"]
SCHEMA = pa.schema([("id", pa.int64())])


def bad_every_fifth(count):
    """Messages 0..count-1, every fifth (from 0) undecodable: not JSON, or for the
    codec an id that is not an int64; one bad value is not UTF-8 either."""
    values = []
    for i in range(count):
        if i % 5:
            values.append(b'{"id": %d}' % i)
        elif i == 10:
            values.append(b"\xff\xfe not json")
        else:
            values.append(b'{"id": "x%d"' % i)
    return values


def collector(app, topic, mode, got, **policy):
    @app.agent(topic, **policy)
    async def collect(stream):
        if mode == "values":
            async for value in stream:
                got.append(value["id"])
        elif mode == "items":
            async for _, value in stream.items():
                got.append(value["id"])
        elif mode == "take":
            async for values in stream.take(7, within=0.05):
                got.extend(value["id"] for value in values)
        else:
            async for batch in stream.batches():
                got.extend(batch.column("id").to_pylist())
    return collect


@pytest.mark.parametrize("mode", MODES)
def test_fail_delivers_the_messages_before_and_restarts_after_the_bad_one(caplog, mode):
    app = sb.App(f"fail-{mode}")
    topic = app.topic("events", schema=SCHEMA if mode == "codec_batches" else None)
    # Written as bytes past the serializer: the third message is not JSON.
    topic._backend.append(0, [None] * 5, [b'{"id": 0}', b'{"id": 1}', b'{"id": ',
                                          b'{"id": 3}', b'{"id": 4}'], [0] * 5)
    got = []
    agent = collector(app, topic, mode, got)
    with caplog.at_level(logging.ERROR, logger="sabot.agents"):
        app.run(until_idle=True)
    assert got == [0, 1, 3, 4]
    assert agent.restarts == 1 and agent.bad_records == 0
    assert "topic 'events' partition 0 offset 2: cannot decode the value" in caplog.text
    assert "DecodeError" in caplog.text


def test_many_undecodable_messages_do_not_throttle_a_failing_agent(caplog):
    # Each bad message restarts the agent after it, without the crash backoff (0.1 s
    # doubling to 10 s), which would take minutes over 40 bad messages.
    app = sb.App("fail-many")
    topic = app.topic("events")
    values = bad_every_fifth(200)
    topic._backend.append(0, [None] * len(values), values, [0] * len(values))
    got = []
    agent = collector(app, topic, "values", got)
    with caplog.at_level(logging.ERROR, logger="sabot.agents"):
        app.run(until_idle=True)
    assert got == [i for i in range(200) if i % 5]
    assert agent.restarts == 40
    assert caplog.text.count("cannot decode the value") == 40


@pytest.mark.parametrize("mode", MODES)
def test_skip_passes_over_each_bad_message_without_a_restart(caplog, mode):
    app = sb.App(f"skip-{mode}")
    topic = app.topic("events", partitions=2,
                      schema=SCHEMA if mode == "codec_batches" else None)
    values = bad_every_fifth(300)
    for partition in (0, 1):
        topic._backend.append(partition, [None] * 300, values, [0] * 300)
    got = []
    agent = collector(app, topic, mode, got, on_bad_record="skip")
    with caplog.at_level(logging.WARNING, logger="sabot.agents"):
        app.run(until_idle=True)
    good = [i for i in range(300) if i % 5]
    assert sorted(got) == sorted(good * 2)
    assert agent.restarts == 0
    assert agent.bad_records == 120
    assert agent.processed_positions == {0: 300, 1: 300}
    assert caplog.text.count("skipped") == 120
    assert "topic 'events' partition 1 offset 295: cannot decode the value" in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_dead_letters_keep_the_bad_messages_with_origin_and_reason(mode):
    app = sb.App(f"dead-letter-{mode}")
    topic = app.topic("events", schema=SCHEMA if mode == "codec_batches" else None)
    letters = app.topic("events-bad", value_serializer="raw")
    values = bad_every_fifth(40)
    topic._backend.append(0, [orjson.dumps(f"k{i}") for i in range(40)], values, [0] * 40)
    got = []
    agent = collector(app, topic, mode, got, on_bad_record="dead_letter",
                      dead_letter="events-bad")
    app.run(until_idle=True)
    assert got == [i for i in range(40) if i % 5]
    assert agent.bad_records == 8 and agent.restarts == 0
    stored = [orjson.loads(v) for batch in read_all(letters._backend, 1)
              for v in batch.column(1).to_pylist()]
    assert [letter["offset"] for letter in stored] == [0, 5, 10, 15, 20, 25, 30, 35]
    for letter in stored:
        offset = letter["offset"]
        assert letter["agent"] == agent.name and letter["topic"] == "events"
        assert letter["partition"] == 0 and letter["key"] == f'"k{offset}"'
        assert letter["reason"].startswith("cannot decode the value: ")
        if offset == 10:
            assert "value" not in letter
            assert base64.b64decode(letter["value_base64"]) == values[10]
        else:
            assert letter["value"] == values[offset].decode()
    if mode == "codec_batches":
        assert stored[1]["reason"].startswith("cannot decode the value: json: ")


def test_a_dead_letter_topic_goes_with_the_dead_letter_policy():
    app = sb.App("dead-letter-config")
    topic = app.topic("events")

    async def agent(stream):
        async for _ in stream:
            pass

    with pytest.raises(ValueError, match="on_bad_record='dead_letter' and dead_letter="):
        app.agent(topic, on_bad_record="dead_letter")(agent)
    with pytest.raises(ValueError, match="on_bad_record='skip', dead_letter="):
        app.agent(topic, on_bad_record="skip", dead_letter="bad")(agent)
    with pytest.raises(ValueError, match="unknown on_bad_record 'ignore'; use one of fail"):
        app.agent(topic, on_bad_record="ignore")(agent)


def test_skip_names_a_key_that_does_not_decode(caplog):
    app = sb.App("skip-key")
    topic = app.topic("events")
    topic._backend.append(0, [b'"a"', b"not json", b'"c"'],
                          [b'{"id": 0}', b'{"id": 1}', b'{"id": 2}'], [0] * 3)
    got = []

    @app.agent(topic, on_bad_record="skip")
    async def collect(stream):
        async for key, value in stream.items():
            got.append((key, value["id"]))

    with caplog.at_level(logging.WARNING, logger="sabot.agents"):
        app.run(until_idle=True)
    assert got == [("a", 0), ("c", 2)]
    assert "partition 0 offset 1: cannot decode the key" in caplog.text


@pytest.mark.parametrize("mode", ["values", "codec_batches"])
def test_skip_on_an_avro_topic(mode):
    # Avro polls decode in one codec call, which reports the first bad message's index.
    app = sb.App(f"skip-avro-{mode}")
    topic = app.topic("events", value_serializer="avro", schema=SCHEMA)
    good = [topic.value_serializer.dumps({"id": i}) for i in range(6)]
    # A long whose varint never ends is not Avro.
    values = good[:2] + [b"\xff" * 11] + good[2:5] + [b"\x80"] + good[5:]
    topic._backend.append(0, [None] * len(values), values, [0] * len(values))
    got = []
    agent = collector(app, topic, mode, got, on_bad_record="skip")
    app.run(until_idle=True)
    assert got == list(range(6))
    assert agent.bad_records == 2 and agent.restarts == 0
    assert agent.processed_positions == {0: len(values)}


def test_a_dead_letter_carries_the_start_of_a_huge_value_and_its_size():
    app = sb.App("dead-letter-huge")
    topic = app.topic("events")
    letters = app.topic("events-bad", value_serializer="raw")
    huge = b"{" + b"x" * 2_000_000
    topic._backend.append(0, [None, None], [huge, b'{"id": 1}'], [0, 0])
    got = []
    collector(app, topic, "values", got, on_bad_record="dead_letter", dead_letter=letters)
    app.run(until_idle=True)
    assert got == [1]
    [stored] = [v for batch in read_all(letters._backend, 1) for v in batch.column(1).to_pylist()]
    letter = orjson.loads(stored)
    assert len(stored) < 1_000_000
    assert letter["value_truncated"] is True and letter["value_bytes"] == len(huge)
    assert letter["value"] == huge[:256 * 1024].decode()
