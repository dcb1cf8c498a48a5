"""sb.App on the embedded broker: topics, agents, sinks, concurrency, supervision,
tables. Expected values are computed in the tests from the inputs they send."""

import asyncio
import logging
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import sabot as sb


def test_agent_sees_every_value_in_partition_order_and_yields_to_sinks():
    app = sb.App("t")
    orders = app.topic("orders", partitions=3)
    large = app.topic("large")
    got, forwarded = [], []

    @app.agent(orders, sink=[large])
    async def check(stream):
        async for order in stream:
            got.append(order)
            if order["amount"] > 50:
                yield {"id": order["id"]}

    @app.agent(large)
    async def keep(stream):
        async for value in stream:
            forwarded.append(value["id"])

    sent = [{"id": i, "account": i % 5, "amount": i} for i in range(100)]
    for order in sent:
        orders.send_sync(value=order, key=order["account"])
    app.run(until_idle=True)
    assert sorted(o["id"] for o in got) == list(range(100))
    # Per key (one partition each) the order of sending is kept.
    for account in range(5):
        ids = [o["id"] for o in got if o["account"] == account]
        assert ids == sorted(ids)
    assert sorted(forwarded) == list(range(51, 100))


def test_several_agents_on_one_topic_each_see_every_message():
    app = sb.App("t")
    events = app.topic("events", partitions=2)
    seen = {name: [] for name in ("ingest", "validate", "enrich", "analyze")}

    def make(name):
        async def agent(stream):
            async for event in stream:
                seen[name].append(event)
        agent.__name__ = name
        return agent

    for name in seen:
        app.agent(events, name=name)(make(name))
    events.send_many([{"n": i} for i in range(500)])
    app.run(until_idle=True)
    for name, values in seen.items():
        assert sorted(v["n"] for v in values) == list(range(500)), name


def test_concurrency_splits_partitions_between_instances():
    app = sb.App("t")
    topic = app.topic("t", partitions=4)
    owners = {}

    @app.agent(topic, concurrency=2)
    async def work(stream):
        async for value in stream:
            owners.setdefault(tuple(stream.partitions), []).append(value)

    topic.send_many(list(range(400)), keys=[i % 8 for i in range(400)])
    app.run(until_idle=True)
    assert sorted(owners) == [(0, 2), (1, 3)]
    assert sorted(v for values in owners.values() for v in values) == list(range(400))


def test_batches_take_and_items():
    app = sb.App("t")
    arrow_topic = app.topic("arrow", value_serializer="arrow")
    json_topic = app.topic("json", schema=pa.schema([("x", pa.int64())]))
    totals, lists, pairs = [], [], []

    @app.agent(arrow_topic)
    async def batches(stream):
        async for batch in stream.batches():
            totals.append(pc.sum(batch["x"]).as_py())

    @app.agent(json_topic)
    async def json_batches(stream):
        async for batch in stream.batches():
            assert batch.schema == pa.schema([("x", pa.int64())])
            totals.append(pc.sum(batch["x"]).as_py())

    items_topic = app.topic("items")

    @app.agent(items_topic)
    async def items(stream):
        async for key, value in stream.items():
            pairs.append((key, value))

    take_topic = app.topic("take")

    @app.agent(take_topic)
    async def take(stream):
        async for values in stream.take(10, within=0.05):
            lists.append(values)

    for i in range(3):
        arrow_topic.send_sync(value=pa.record_batch({"x": list(range(i * 10, i * 10 + 10))}))
    json_topic.send_many([{"x": i} for i in range(5)])
    items_topic.send_sync(value="v", key="k")
    take_topic.send_many(list(range(25)))
    app.run(until_idle=True)
    assert sorted(totals) == sorted([45, 145, 245, 10])
    assert pairs == [("k", "v")]
    assert [len(values) for values in lists] == [10, 10, 5]
    assert [v for values in lists for v in values] == list(range(25))


@pytest.mark.parametrize("strategy,expected_starts", [
    ("one_for_one", {0: 1, 1: 2, 2: 1}),
    ("one_for_all", {0: 2, 1: 2, 2: 2}),
    ("rest_for_one", {0: 1, 1: 2, 2: 2}),
])
def test_supervision_restarts_crashed_agents_and_logs_the_name(caplog, strategy,
                                                               expected_starts):
    app = sb.App("t")
    topic = app.topic("t", partitions=3)
    processed = []
    starts = Counter()

    @app.agent(topic, concurrency=3, name="flaky", supervisor_strategy=strategy)
    async def flaky(stream):
        starts[stream.partitions[0]] += 1
        async for value in stream:
            if value == "boom":
                raise RuntimeError("bad value")
            processed.append(value)

    # Instance 1 (partition 1) meets one bad value.
    for value, partition in (("a", 1), ("boom", 1), ("b", 1), ("c", 0), ("d", 2)):
        topic.send_sync(value=value, partition=partition)
    with caplog.at_level(logging.ERROR, logger="sabot.agents"):
        app.run(until_idle=True)
    # The bad message is skipped; everything else is processed exactly once.
    assert sorted(processed) == ["a", "b", "c", "d"]
    assert app.agents["flaky"].restarts == 1
    assert "agent flaky (instance 1 of 3) crashed" in caplog.text
    assert "bad value" in caplog.text
    assert dict(starts) == expected_starts


@pytest.mark.parametrize("schema", [None, pa.schema([("n", pa.int64())])])
def test_a_batch_agent_that_raises_passes_over_that_batch(caplog, schema):
    # As a per-message agent passes over the message it raised on, a batch agent passes
    # over the batch: one restart, not one per message of the batch.
    app = sb.App("t")
    topic = app.topic("t", schema=schema)
    topic.send_many([{"n": i} for i in range(10)])
    seen = []

    @app.agent(topic)
    async def sums(stream):
        async for batch in stream.batches():
            rows = batch.column("n").to_pylist()
            seen.append(rows)
            if 3 in rows:
                raise RuntimeError("cannot take 3")

    with caplog.at_level(logging.ERROR, logger="sabot.agents"):
        app.run(until_idle=True)
    assert seen == [list(range(10))]
    assert sums.restarts == 1 and sums.processed_positions == {0: 10}


def test_table_counts_and_dict_api():
    app = sb.App("t")
    clicks = app.topic("clicks", partitions=2)
    counts = app.Table("counts", default=int)

    @app.agent(clicks)
    async def count(stream):
        async for click in stream:
            counts[click["page"]] += 1

    pages = [f"p{i % 7}" for i in range(700)]
    clicks.send_many([{"page": p} for p in pages], keys=pages)
    app.run(until_idle=True)
    assert dict(counts.items()) == dict(Counter(pages))
    assert counts.get("missing") is None and "missing" not in counts
    assert counts["new"] == 0 and "new" in counts
    del counts["new"]
    assert sorted(counts.keys()) == sorted(set(pages))
    # Keys live in the partition of the messages that wrote them.
    assert {counts.partition_of(p) for p in ("p0",)} == {clicks.partition_for(b'"p0"')}


def test_topic_send_is_awaitable_and_validates():
    app = sb.App("t")
    topic = app.topic("t", partitions=2)
    metadata = asyncio.run(topic.send(value={"a": 1}, key="k"))
    assert metadata.topic == "t" and metadata.offset == 0
    assert metadata.partition == topic.partition_for(b'"k"')
    with pytest.raises(ValueError, match="partitions 0 to 1, not 5"):
        topic.send_sync(value=1, partition=5)
    with pytest.raises(TypeError, match="JSON"):
        topic.send_sync(value=object())
    with pytest.raises(ValueError, match="unknown value_serializer 'yaml'"):
        app.topic("u", value_serializer="yaml")


def test_app_configuration_errors_say_what_to_change():
    with pytest.raises(ValueError, match="unknown broker"):
        sb.App("t", broker="redis://x")
    with pytest.raises(TypeError, match="async def"):
        sb.App("t").agent("x")(lambda stream: None)
    app = sb.App("t")
    with pytest.raises(ValueError, match="supervisor"):
        app.agent("x", supervisor_strategy="sometimes")(_noop)
    assert sb.create_app is sb.App


async def _noop(stream):
    async for _ in stream:
        pass


def test_app_stream_runs_the_dataflow_api_over_a_topic():
    app = sb.App("t")
    topic = app.topic("orders", partitions=2)
    topic.send_many([{"account": i % 3, "amount": float(i)} for i in range(30)])
    totals = (app.stream(topic).key_by("account").aggregate(total=sb.sum("amount"))
              .to_pylist())
    final = {}
    for row in totals:
        final[row["account"]] = row["total"]
    assert final == {a: float(sum(i for i in range(30) if i % 3 == a)) for a in range(3)}


def test_keys_go_where_kafkas_java_producer_puts_them():
    # murmur2 values from Kafka's own tests (UtilsTest.testMurmur2); the Java producer's
    # partition is toPositive(murmur2(key)) % partitions.
    vectors = {b"21": -973932308, b"foobar": -790332482,
               b"a-little-bit-long-string": -985981536, b"abc": 479470107}
    app = sb.App("t")
    topic = app.topic("t", partitions=7, key_serializer="raw")
    for key, murmur in vectors.items():
        assert topic.partition_for(key) == (murmur & 0x7FFFFFFF) % 7
        assert topic.send_sync(value={"k": 1}, key=key).partition == (murmur & 0x7FFFFFFF) % 7


def test_an_instance_cancelled_at_the_checkpoint_gate_has_not_processed_the_message():
    # The gate holds the stream before the first message of its batch; a cancel there
    # (a sibling's crash under one_for_all, or the worker's stop) must leave that
    # message unprocessed, so that the next start reads it.
    from sabot.agents import StopEvent

    app = sb.App("gate-cancel")
    topic = app.topic("events")
    seen = []

    @app.agent(topic)
    async def consume(stream):
        async for value in stream:
            seen.append(value)

    topic.send_many([{"i": 0}, {"i": 1}])
    agent = next(iter(app.agents.values()))

    async def scenario():
        app._gate.close()
        task = asyncio.ensure_future(agent.run_instance(0, StopEvent()))
        for _ in range(200):
            if app._gate.parked:
                break
            await asyncio.sleep(0.01)
        assert app._gate.parked, "the stream never reached the gate"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert seen == []
    assert agent.processed_positions == {0: 0}
