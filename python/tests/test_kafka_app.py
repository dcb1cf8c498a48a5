"""sb.App on a real Kafka broker: agents and sinks, the fraud demo, and a worker killed
with SIGKILL again and again whose table still counts every message exactly once."""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter

import pyarrow as pa
import pytest

import sabot as sb
from sabot.brokers import read_all

pytestmark = pytest.mark.kafka

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_agents_and_sinks_on_kafka(kafka_bootstrap):
    app = sb.App("kafka-agents", broker=f"kafka://{kafka_bootstrap}")
    orders = app.topic(unique("orders"), partitions=3)
    large = app.topic(unique("large"), partitions=1)
    counts = app.Table("counts", default=int)
    forwarded = []

    @app.agent(orders, sink=[large], concurrency=2)
    async def check(stream):
        async for order in stream:
            counts[order["account"]] += 1
            if order["amount"] > 500:
                yield order

    @app.agent(large)
    async def keep(stream):
        async for order in stream:
            forwarded.append(order["id"])

    sent = [{"id": i, "account": i % 7, "amount": i} for i in range(1000)]
    orders.send_many(sent, keys=[o["account"] for o in sent])
    app.run(until_idle=True)
    assert dict(counts.items()) == dict(Counter(o["account"] for o in sent))
    assert sorted(forwarded) == list(range(501, 1000))
    assert large.end_offsets() == [499]


def test_fraud_demo_on_kafka_matches_brute_force(kafka_bootstrap):
    sys.path.insert(0, EXAMPLES)
    import fraud_app
    from test_fraud_rules import brute_force_alert_counts
    expected = brute_force_alert_counts(list(fraud_app.generate(5000)))
    result = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "fraud_app.py"), "--transactions", "5000",
         "--print-alerts", "0", "-b", f"kafka://{kafka_bootstrap}",
         "--topic-suffix", uuid.uuid4().hex[:8]],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    line = next(l for l in result.stdout.splitlines() if l.strip().startswith("alerts"))
    got = dict((kind, int(n)) for kind, n in
               (part.split() for part in line.split("alerts", 1)[1].split(",")))
    assert got == expected


WORKER = textwrap.dedent("""
    import asyncio, json, logging, sys
    import sabot as sb

    logging.basicConfig(level=logging.INFO)

    bootstrap, topic_name, checkpoints, state, result = sys.argv[1:6]
    app = sb.App("crash-counts", broker=f"kafka://{bootstrap}", state=state,
                 checkpoint_dir=checkpoints, checkpoint_interval=0.1)
    clicks = app.topic(topic_name, partitions=3)
    counts = app.Table("counts", default=int)

    @app.agent(clicks, concurrency=3)
    async def count(stream):
        seen = 0
        async for click in stream:
            counts[click["page"]] += 1
            seen += 1
            if seen % 10 == 0:
                await asyncio.sleep(0.003)  # slow enough to be killed half-way

    app.run(until_idle=True, idle_seconds=0.5)
    with open(result, "w") as out:
        json.dump(dict(counts.items()), out)
""")


@pytest.mark.parametrize("backend", ["memory", "rocksdb"])
def test_worker_killed_repeatedly_keeps_exactly_once_table_counts(kafka_bootstrap, tmp_path,
                                                                   backend):
    rng = random.Random(11)
    topic = unique("clicks")
    app = sb.App("producer", broker=f"kafka://{kafka_bootstrap}")
    clicks = app.topic(topic, partitions=3)
    pages = [f"page-{rng.randrange(40)}" for _ in range(20_000)]
    clicks.send_many([{"page": p} for p in pages], keys=pages)
    expected = Counter(pages)

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    checkpoints = tmp_path / "checkpoints"
    result = tmp_path / "result.json"
    state_directory = tmp_path / "state"
    state = "memory://" if backend == "memory" else f"rocksdb://{state_directory}"
    command = [sys.executable, str(script), kafka_bootstrap, topic, str(checkpoints), state,
               str(result)]
    kills = 0
    progress = []
    finished = None
    while kills < 6:
        worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.8, 1.6))
        if worker.poll() is not None:
            finished = worker
            break
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        kills += 1
        saved = sorted(checkpoints.glob("checkpoint-*.json"),
                       key=lambda path: int(path.stem.split("-")[1]))
        if saved:
            state = json.loads(saved[-1].read_text())
            progress.append(sum(state["agents"]["__main__.count"].values()))
    assert kills >= 3, "fewer than 3 kills: the worker was too fast to be killed half-way"
    if finished is None:
        finished = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, stderr = finished.communicate(timeout=300)
    assert finished.returncode == 0, stderr
    # The last run went on from a checkpoint rather than starting over.
    assert b"restored checkpoint" in stderr
    # Checkpoints advanced across the kills, and the counts are exact.
    assert progress == sorted(progress) and progress[-1] > 0
    assert json.loads(result.read_text()) == dict(expected)
    if backend == "rocksdb":
        # The killed workers' run directories went when the last one started.
        assert len(os.listdir(state_directory / "crash-counts")) == 1


def test_stream_from_kafka_and_to_topics(kafka_bootstrap):
    rows = [{"id": i, "account": i % 5, "amount": float(i)} for i in range(2000)]
    name = unique("stream")
    figures = (sb.Stream.from_pylist(rows).filter(sb.col("amount") >= 1000)
               .to_kafka(kafka_bootstrap, name, key_columns=["account"], partitions=3))
    assert figures["metrics"][-1]["rows_in"] == 1000
    schema = pa.schema([("id", pa.int64()), ("account", pa.int64()), ("amount", pa.float64())])
    back = sb.Stream.from_kafka(kafka_bootstrap, name, schema=schema, bounded=True,
                                metadata=["partition"]).collect()
    assert sorted(back["id"].to_pylist()) == list(range(1000, 2000))
    # The engine's sink and the App's topics put a key in the same partition.
    app = sb.App("to", broker=f"kafka://{kafka_bootstrap}")
    topic = app.topic(name, partitions=3)
    # A non-string key column becomes the key {"account": n} (connectors/kafka/README.md).
    for row in back.to_pylist():
        assert row["_partition"] == topic.partition_for(orjson_dumps({"account": row["account"]}))
    with pytest.raises(KeyError, match="does not exist"):
        sb.Stream.from_pylist(rows).to_kafka(kafka_bootstrap, unique("missing"))


def orjson_dumps(value):
    import orjson
    return orjson.dumps(value)


def test_an_undelivered_sink_message_stops_the_worker_without_a_checkpoint(kafka_bootstrap,
                                                                           tmp_path):
    # The broker refuses the sink's messages (its topic takes at most 200 bytes per
    # batch): the worker must stop with the error and write no checkpoint that counts
    # their input as processed, so that a restart reads it again.
    source_name, sink_name = unique("undelivered-in"), unique("undelivered-out")
    tools = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "kafka")
    subprocess.run([os.path.join(tools, "topic.sh"), kafka_bootstrap, sink_name, "1",
                    "max.message.bytes=200"], check=True)
    app = sb.App(unique("undelivered"), broker=f"kafka://{kafka_bootstrap}",
                 checkpoint_dir=str(tmp_path), checkpoint_interval=0.2)
    source = app.topic(source_name, partitions=1)
    sink = app.topic(sink_name, partitions=1)

    @app.agent(source, sink=[sink])
    async def inflate(stream):
        async for value in stream:
            # Random text does not compress below the limit.
            yield {"n": value["n"], "blob": os.urandom(600).hex()}

    source.send_many([{"n": i} for i in range(20)])
    with pytest.raises(sb.DeliveryError, match="not delivered"):
        app.run(until_idle=True)
    assert sink.end_offsets() == [0]
    for name in os.listdir(tmp_path):
        if name.endswith(".json"):
            with open(os.path.join(tmp_path, name)) as f:
                state = json.load(f)
            assert all(position == 0 for agent in state["agents"].values()
                       for position in agent.values()), state["agents"]


def test_after_a_lost_message_the_topic_refuses_new_ones(kafka_bootstrap):
    # `await topic.send` queues without waiting for the broker: once a message was
    # lost, later ones must not be sent (and counted) after it.
    name = unique("refusing")
    tools = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "kafka")
    subprocess.run([os.path.join(tools, "topic.sh"), kafka_bootstrap, name, "1",
                    "max.message.bytes=200"], check=True)
    app = sb.App(unique("refusing"), broker=f"kafka://{kafka_bootstrap}")
    topic = app.topic(name, partitions=1)
    asyncio.run(topic.send(value={"blob": os.urandom(600).hex()}))
    with pytest.raises(sb.DeliveryError, match=f"{name} partition 0"):
        topic._backend.flush()
    with pytest.raises(sb.DeliveryError, match="not delivered"):
        asyncio.run(topic.send(value={"small": True}))
    with pytest.raises(sb.DeliveryError, match="not delivered"):
        topic.send_sync({"small": True})
    time.sleep(0.5)
    assert topic.end_offsets() == [0]


def test_dead_letters_on_kafka(kafka_bootstrap):
    app = sb.App(unique("dead-letters"), broker=f"kafka://{kafka_bootstrap}")
    source = app.topic(unique("dl-in"), partitions=2)
    letters = app.topic(unique("dl-bad"), partitions=1, value_serializer="raw")
    for partition in (0, 1):
        source._backend.append(partition, [None] * 4,
                               [b'{"n": 1}', b"{oops", b'{"n": 2}', b"\xff"], [0] * 4)
    got = []

    @app.agent(source, on_bad_record="dead_letter", dead_letter=letters)
    async def collect(stream):
        async for value in stream:
            got.append(value["n"])

    app.run(until_idle=True)
    assert sorted(got) == [1, 1, 2, 2]
    assert collect.bad_records == 4 and collect.restarts == 0
    stored = sorted((json.loads(v) for batch in read_all(letters._backend, 1)
                     for v in batch.column(1).to_pylist()),
                    key=lambda letter: (letter["partition"], letter["offset"]))
    assert [(d["partition"], d["offset"]) for d in stored] == [(0, 1), (0, 3), (1, 1), (1, 3)]
    assert stored[0]["value"] == "{oops" and stored[0]["topic"] == source.name
    assert stored[1]["value_base64"] == "/w=="


def test_a_message_the_producer_refuses_is_not_a_loss(kafka_bootstrap):
    # Refused before it was sent (over the producer's 1 MB limit): an error for this
    # send only, not a DeliveryError that would stop the worker.
    app = sb.App(unique("too-large"), broker=f"kafka://{kafka_bootstrap}")
    topic = app.topic(unique("too-large"), partitions=1)
    with pytest.raises(OSError) as raised:
        topic.send_sync({"blob": "x" * 2_000_000})
    assert not isinstance(raised.value, sb.DeliveryError)
    topic.send_sync({"small": 1})
    assert topic.end_offsets() == [1]
