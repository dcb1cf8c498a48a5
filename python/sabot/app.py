"""sb.App: topics, agents and tables, run by a worker (``sabot -A module:app worker``
or ``app.run()``)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import pyarrow as pa

from . import _sabot
from .agents import Agent, AgentStream, StopEvent, Supervisor
from .brokers import DeliveryError, parse_broker, read_all
from .checkpoints import CheckpointGate, CheckpointStore, restore_tables, snapshot_tables
from .stream import Stream
from .tables import Table, TableBackend
from .topics import Topic, make_topic

logger = logging.getLogger("sabot.app")


def _parse_state(state: str) -> str:
    """'memory://', or 'rocksdb://' and RocksDB's absolute directory."""
    if state in ("memory://", "memory"):
        return "memory://"
    if isinstance(state, str) and state.startswith("rocksdb://"):
        return "rocksdb://" + _rocksdb_path(state)
    raise ValueError(f"unknown state {state!r}; use 'memory://' or 'rocksdb://PATH'")


def _rocksdb_path(state: str) -> str:
    """The absolute PATH of `state`, checked now so that a bad setting fails when the App
    is made rather than when its first table is used."""
    path = state[len("rocksdb://"):]
    if not path:
        raise ValueError(f"state '{state}' needs a directory: 'rocksdb:///var/lib/sabot', "
                         f"or a path relative to the working directory, 'rocksdb://state'")
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"state '{state}': {path} is not a directory; choose another PATH")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"state '{state}': cannot create {path} because {existing} is not "
                         f"a writable directory; choose another PATH")
    return path


class App:
    """An application: ``app = sb.App("fraud")``, then topics, agents and tables."""

    def __init__(self, id: str, broker: str = "memory://", value_serializer: str = "json",
                 key_serializer: str = "json", state: str = "memory://",
                 checkpoint_dir: Optional[str] = None, checkpoint_interval: float = 10.0,
                 default_partitions: int = 1):
        if not id or not isinstance(id, str):
            raise ValueError("an App needs an id, e.g. sb.App('fraud-detection')")
        self.id = id
        self._broker = parse_broker(broker)
        self.broker = broker
        self.state = _parse_state(state)
        self._table_backend = TableBackend(id, self.state)
        self.value_serializer = value_serializer
        self.key_serializer = key_serializer
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_interval = checkpoint_interval
        self.default_partitions = default_partitions
        self.topics: Dict[str, Topic] = {}
        self.agents: Dict[str, Agent] = {}
        self.tables: Dict[str, Table] = {}
        self._streams: List[AgentStream] = []
        self._writer = None
        self._startup_tasks: List[Callable] = []
        self._timers: List[tuple] = []
        self._startup_futures: List[asyncio.Future] = []
        self._gate = CheckpointGate()
        self._store = CheckpointStore(checkpoint_dir) if checkpoint_dir else None
        self.checkpoints_completed = 0
        self._stopping: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # A failure that stops the worker without a final checkpoint (see _fail).
        self._fatal: Optional[BaseException] = None

    def __repr__(self) -> str:
        return f"<App {self.id} broker={self.broker} agents={len(self.agents)}>"

    def _kafka_writer(self):
        """The App's Kafka producer, created on first use."""
        if self._writer is None:
            self._writer = _sabot.KafkaMessageWriter.make(self._broker[1])
        return self._writer

    def set_broker(self, broker: str) -> None:
        """Changes the broker before any topic is declared (the CLI's -b)."""
        if any(topic._backend_instance is not None for topic in self.topics.values()):
            raise ValueError("set the broker before any topic is used")
        self._broker = parse_broker(broker)
        self.broker = broker

    # ---- declarations ----------------------------------------------------------------

    def topic(self, name: str, partitions: Optional[int] = None,
              key_serializer: Any = None, value_serializer: Any = None,
              schema: Any = None) -> Topic:
        """Declares (or returns the already declared) topic `name`. Serializers are names
        ('json', 'avro', 'msgpack', 'arrow', 'raw') or sabot.serializers.avro(...);
        `schema` is a pyarrow schema, or for 'avro' also an Avro record schema (JSON text
        or dict), which the 'avro' serializer needs (sabot.serializers)."""
        if name in self.topics:
            existing = self.topics[name]
            if partitions is not None and partitions != existing.partitions:
                raise ValueError(f"topic '{name}' is declared with {existing.partitions} "
                                 f"partitions, not {partitions}")
            return existing
        topic = make_topic(self, name, partitions or self.default_partitions,
                           key_serializer, value_serializer, schema)
        self.topics[name] = topic
        return topic

    def agent(self, topic: Union[Topic, str], sink: Optional[Sequence[Any]] = None,
              concurrency: int = 1, name: Optional[str] = None,
              supervisor_strategy: str = "one_for_one", on_bad_record: str = "fail",
              dead_letter: Union[Topic, str, None] = None) -> Callable[[Callable], Agent]:
        """Decorates ``async def f(stream)`` to run over `topic`; every value the
        function yields goes to each sink (a topic, an agent or a callable). A message
        the topic's serializer cannot decode: ``on_bad_record="fail"`` raises
        sb.DecodeError in the agent, which restarts after it; ``"skip"`` counts
        (``agent.bad_records``) and logs it; ``"dead_letter"`` also appends it, with
        its origin and the error, to the topic ``dead_letter``."""
        if isinstance(topic, str):
            topic = self.topic(topic)

        def register(fn: Callable) -> Agent:
            agent_name = name or f"{fn.__module__}.{fn.__qualname__}"
            if agent_name in self.agents:
                raise ValueError(f"an agent named '{agent_name}' already exists; pass name=")
            sinks = [self.topic(s) if isinstance(s, str) else s for s in (sink or [])]
            letters = self.topic(dead_letter) if isinstance(dead_letter, str) else dead_letter
            agent = Agent(self, fn, topic, sinks, concurrency, agent_name, supervisor_strategy,
                          on_bad_record, letters)
            self.agents[agent_name] = agent
            return agent
        return register

    def task(self, fn: Callable) -> Callable:
        """Decorates ``async def f()`` (or ``f(app)``) to run once when the worker starts,
        e.g. a producer of an embedded demo."""
        self._startup_tasks.append(fn)
        return fn

    def timer(self, interval: float) -> Callable[[Callable], Callable]:
        """Decorates ``async def f()`` (or ``f(app)``) to run every `interval` seconds
        while the worker runs."""
        if interval <= 0:
            raise ValueError(f"timer interval must be positive, got {interval}")

        def register(fn: Callable) -> Callable:
            self._timers.append((interval, fn))
            return fn
        return register

    async def _call(self, fn: Callable) -> None:
        import inspect
        result = fn(self) if len(inspect.signature(fn).parameters) == 1 else fn()
        if inspect.isawaitable(result):
            await result

    async def _run_timer(self, interval: float, fn: Callable) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
                return
            except asyncio.TimeoutError:
                pass
            try:
                await self._call(fn)
            except Exception:  # noqa: BLE001 - a failing timer is logged and runs again
                logger.exception("timer %s of app %s failed", fn.__name__, self.id)

    def Table(self, name: str, default: Optional[Callable[[], Any]] = None,  # noqa: N802
              partitions: Optional[int] = None) -> Table:
        """Declares a table: dict-like keyed state (see sabot.tables)."""
        if name in self.tables:
            raise ValueError(f"a table named '{name}' already exists")
        table = Table(self, name, default=default, partitions=partitions)
        self.tables[name] = table
        return table

    def stream(self, topic: Union[Topic, str], schema: Optional[pa.Schema] = None) -> Stream:
        """The messages of `topic` so far as a dataflow Stream of decoded values (the
        topic's schema, `schema`, or one inferred by pyarrow)."""
        if isinstance(topic, str):
            topic = self.topics[topic]
        loads = topic.value_serializer.loads
        rows = [loads(v) for batch in read_all(topic._backend, topic.partitions)
                for v in batch.column(1).to_pylist()]
        return Stream.from_pylist(rows, schema=schema or topic.schema)

    # ---- running -----------------------------------------------------------------------

    def run(self, until_idle: bool = False, idle_seconds: float = 0.2) -> None:
        """Runs the worker in this thread until SIGINT/SIGTERM or stop(); with
        `until_idle`, until every agent has processed every message of its topic and
        nothing arrived for `idle_seconds`."""
        asyncio.run(self.run_async(until_idle=until_idle, idle_seconds=idle_seconds,
                                   handle_signals=True))

    async def run_async(self, until_idle: bool = False, idle_seconds: float = 0.2,
                        handle_signals: bool = False) -> None:
        """The worker as a coroutine (see run)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = StopEvent()
        self._fatal = None
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self.stop)
        self._restore()
        supervisors = [Supervisor(agent, self._stopping) for agent in self.agents.values()]
        tasks = [asyncio.ensure_future(s.run()) for s in supervisors]
        helpers = [asyncio.ensure_future(self._run_timer(i, fn)) for i, fn in self._timers]
        if self._store is not None:
            helpers.append(asyncio.ensure_future(self._checkpoint_periodically()))
        self._startup_futures = [asyncio.ensure_future(self._call(fn))
                                 for fn in self._startup_tasks]
        helpers += self._startup_futures
        watcher = asyncio.ensure_future(self._stop_when_idle(idle_seconds)) if until_idle \
            else None
        logger.info("worker of app %s started: %d agents, %d topics, %d tables", self.id,
                    len(self.agents), len(self.topics), len(self.tables))
        try:
            if not tasks:
                await self._stopping.wait()
            await asyncio.gather(*tasks)
        finally:
            for helper in helpers:
                if not helper.done():
                    helper.cancel()
            for helper in await asyncio.gather(*helpers, return_exceptions=True):
                if isinstance(helper, Exception):
                    logger.error("task of app %s failed: %r", self.id, helper)
            if self._fatal is None:
                if self._store is not None:
                    # Every agent has ended: positions and tables agree without the gate.
                    self._write_checkpoint()
                else:
                    self._flush_topics()
            if watcher is not None:
                watcher.cancel()
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    self._loop.remove_signal_handler(sig)
            logger.info("worker of app %s stopped", self.id)
        if self._fatal is not None:
            raise self._fatal

    # ---- checkpoints -------------------------------------------------------------------

    def _restore(self) -> None:
        if self._store is None:
            return
        state = self._store.latest()
        if state is None:
            return
        if state.get("app") != self.id:
            raise ValueError(f"checkpoint directory {self._store.directory} belongs to app "
                             f"'{state.get('app')}', not '{self.id}'")
        for name, positions in state["agents"].items():
            agent = self.agents.get(name)
            if agent is None:
                logger.warning("checkpoint %d has positions of agent %s, which this app no "
                               "longer has", state["id"], name)
                continue
            ends = agent.topic.end_offsets()
            for partition, position in positions.items():
                partition = int(partition)
                if partition >= len(ends) or position > ends[partition]:
                    raise ValueError(
                        f"checkpoint {state['id']} in {self._store.directory} resumes agent "
                        f"{name} at offset {position} of topic {agent.topic.name} partition "
                        f"{partition}, which ends at "
                        f"{ends[partition] if partition < len(ends) else 'no such partition'}"
                        f": memory:// topics do not outlive the process; delete the "
                        f"checkpoint directory to start afresh")
                agent.processed_positions[partition] = position
        restore_tables(self._table_backend, self.tables, state,
                       self._store.read_tables(state["id"]), self._store.directory)
        logger.info("app %s restored checkpoint %d from %s", self.id, state["id"],
                    self._store.directory)

    def _flush_queues(self) -> None:
        """Appends what agents queued for their sink topics (send_deferred)."""
        for topic in self.topics.values():
            topic.flush_pending()

    def _flush_topics(self) -> None:
        """Appends what agents queued and waits until producers delivered it. Call on
        the event loop's thread (or when no agent runs)."""
        for topic in self.topics.values():
            topic.flush_pending()
        self._flush_backends()

    def _flush_backends(self) -> None:
        for topic in self.topics.values():
            if topic._backend_instance is not None:
                topic._backend_instance.flush()

    def _write_checkpoint(self) -> int:
        # Values sent before the checkpoint are delivered before it counts.
        self._flush_topics()
        tables, snapshot = snapshot_tables(self._table_backend, self.tables)
        state = {
            "app": self.id,
            "agents": {name: {str(p): pos for p, pos in agent.processed_positions.items()}
                       for name, agent in self.agents.items()},
            **tables,
        }
        checkpoint_id = self._store.write(state, snapshot)
        self.checkpoints_completed += 1
        return checkpoint_id

    async def checkpoint(self) -> int:
        """Takes a checkpoint now: holds every agent before its next message, waits until
        none is between two messages, writes positions and tables, and lets them go on.
        Returns the checkpoint's id."""
        if self._store is None:
            raise ValueError("checkpoints need checkpoint_dir: sb.App(..., checkpoint_dir=PATH)")
        self._gate.close()
        try:
            while not all(stream in self._gate.parked or stream.waiting
                          for stream in self._streams):
                await asyncio.sleep(0.001)
            return self._write_checkpoint()
        finally:
            self._gate.open()

    async def _checkpoint_periodically(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.checkpoint_interval)
                return
            except asyncio.TimeoutError:
                pass
            try:
                await self.checkpoint()
            except DeliveryError as error:
                self._fail(error)
                return
            except Exception:  # noqa: BLE001 - logged; the next interval tries again
                logger.exception("checkpoint of app %s failed", self.id)

    def _fail(self, error: BaseException) -> None:
        """Stops the worker because sent messages were lost (a DeliveryError): no
        checkpoint is written after it, so a restart reads their input again; run()
        raises the error once the worker stopped."""
        if self._fatal is None:
            self._fatal = error
            logger.error("worker of app %s stops without a checkpoint: %s", self.id, error)
        self.stop()

    def stop(self) -> None:
        """Stops the worker: agents finish the message at hand and their streams end."""
        if self._stopping is None or self._stopping.is_set():
            return
        self._stopping.set()
        for topic in self.topics.values():
            topic._backend.wake()

    def _caught_up(self) -> bool:
        if not all(future.done() for future in self._startup_futures):
            return False
        for agent in self.agents.values():
            ends = agent.topic.end_offsets()
            if any(agent.processed_positions[p] < end for p, end in enumerate(ends)):
                return False
        return all(stream.waiting for stream in self._streams)

    async def _stop_when_idle(self, idle_seconds: float) -> None:
        quiet_since = None
        while True:
            await asyncio.sleep(0.01)
            if self._caught_up():
                # Sent messages still queued (by agents, or in a Kafka producer) are
                # not in the topics yet. Queues are emptied on the loop's thread.
                try:
                    for topic in self.topics.values():
                        topic.flush_pending()
                    await self._loop.run_in_executor(None, self._flush_backends)
                except DeliveryError as error:
                    self._fail(error)
                    return
            if self._caught_up():
                now = self._loop.time()
                quiet_since = quiet_since or now
                if now - quiet_since >= idle_seconds:
                    self.stop()
                    return
            else:
                quiet_since = None
