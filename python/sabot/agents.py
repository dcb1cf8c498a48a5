"""Agents: async functions over a topic's stream, run by the worker.

    @app.agent(orders, sink=[alerts])
    async def check(stream):
        async for order in stream:
            if order["amount"] > 1000:
                yield order

Each agent reads its topic with its own positions, so several agents on one topic each
see every message. ``concurrency=N`` runs N instances; instance i reads the partitions
p with p % N == i. A message counts as processed when the agent asks for the next one
(or, for an agent that raised, when it raised: the message is logged and skipped, as
Faust does, so one bad message cannot crash-loop the agent). A message that does not
decode raises DecodeError in the agent, or under ``on_bad_record="skip"`` /
``"dead_letter"`` is counted, logged (and sent to the dead-letter topic) and passed over.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import inspect
import logging
import time
from collections import deque
from typing import (TYPE_CHECKING, Any, AsyncIterator, Callable, List, Optional, Sequence,
                    Tuple)

import orjson
import pyarrow as pa

from .brokers import DeliveryError

if TYPE_CHECKING:
    from .app import App
    from .topics import Topic

logger = logging.getLogger("sabot.agents")

SUPERVISOR_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
BAD_RECORD_POLICIES = ("fail", "skip", "dead_letter")
# The most of an undecodable value a dead letter carries: with base64's third more and
# JSON escaping the letter stays under Kafka's default 1 MB message limit.
DEAD_LETTER_VALUE_BYTES = 256 * 1024

# The message an agent is processing: [topic name, partition, offset]. Tables place keys
# in the partition of the message that wrote them. Streams of values set one list per
# batch and update its offset per message, which costs far less than a ContextVar.set.
current_event: contextvars.ContextVar = contextvars.ContextVar("sabot_current_event",
                                                               default=None)


class StopEvent(asyncio.Event):
    """The worker's stop signal: an asyncio.Event that also sets ``requested``, which
    streams read once per message (an attribute instead of a method call)."""

    def __init__(self) -> None:
        super().__init__()
        self.requested = False

    def set(self) -> None:
        self.requested = True
        super().set()


class AgentStream:
    """The stream an agent instance iterates: values (``async for v in stream``), pyarrow
    batches (``stream.batches()``), key/value pairs (``stream.items()``) or lists
    (``stream.take(n, within=seconds)``)."""

    def __init__(self, topic: "Topic", partitions: Sequence[int], positions: dict,
                 stopping: "StopEvent", max_batch: int = 4096, gate=None,
                 on_bad_record: Optional[Callable] = None):
        self.topic = topic
        # Called with (partition, offset, key bytes, value bytes, error, what) for a
        # message that does not decode, which the stream then passes over; None: the
        # stream raises DecodeError instead.
        self._on_bad_record = on_bad_record
        # The app's checkpoint gate: before handing out a message the stream stops there
        # while a checkpoint is taken, so that positions and tables are consistent.
        self._gate = gate if gate is not None else _OPEN_GATE
        self.partitions = list(partitions)
        # Next offset to read per partition; shared with the worker (checkpoints, idleness).
        self.positions = positions
        # Where the reader starts: the positions when the stream opens.
        self._fetch = {p: positions[p] for p in self.partitions}
        self._reader = None
        self._runs: deque = deque()
        self._stopping = stopping
        self._max_batch = max_batch
        self.waiting = False

    # ---- reading messages ---------------------------------------------------------

    async def _next_messages(self, timeout: Optional[float] = None) -> Optional[tuple]:
        """Waits for messages; returns (partition, batch), or None when `timeout` passed
        first. Ends the iteration when the worker stops."""
        if self._runs:
            return self._runs.popleft()
        if self._reader is None:
            self._reader = self.topic._backend.reader(self.partitions, self._fetch)
        deadline = None if timeout is None else time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        # What is there already is taken without a thread hop.
        runs = self._reader.poll(self._max_batch, 0)
        if not runs:
            # Nothing to do: hand over what the agents queued before waiting (a Kafka
            # producer delivers it in the background).
            self.topic.app._flush_queues()
        while not runs:
            if self._stopping.requested:
                raise StopAsyncIteration
            remaining = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if remaining <= 0:
                return None
            self.waiting = True
            try:
                runs = await loop.run_in_executor(None, self._reader.poll, self._max_batch,
                                                  remaining)
            finally:
                self.waiting = False
        if self._stopping.requested:
            raise StopAsyncIteration
        self._runs.extend(runs[1:])
        return runs[0]

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def _pass_gate(self) -> None:
        if self._gate.closed:
            await self._gate.wait_open(self)

    def _decode_values(self, batch: pa.RecordBatch) -> Tuple[list, Optional[tuple]]:
        """The values of a poll, up to its first message that does not decode, and that
        message's (index, error) or None."""
        serializer = self.topic.value_serializer
        loads_batch = serializer.loads_batch
        if loads_batch is not None:
            # The serializer decodes the whole poll in one call (avro).
            decoded, failure = _decode_columns(loads_batch, batch.column(1))
            return ([] if decoded is None else decoded.to_pylist()), failure
        return _decode_each(serializer.loads, batch.column(1).to_pylist())

    def _decode_keys(self, batch: pa.RecordBatch) -> Tuple[list, Optional[tuple]]:
        loads = self.topic.key_serializer.loads
        return _decode_each(lambda k: None if k is None else loads(k),
                            batch.column(0).to_pylist())

    def _fail(self, partition: int, offset: int, error: Exception, what: str = "value"):
        """Raises for the message at `offset` that did not decode, as the message being
        processed: the agent's restart resumes after it (see the module docstring)."""
        current_event.set([self.topic.name, partition, offset])
        raise DecodeError(f"topic '{self.topic.name}' partition {partition} offset "
                          f"{offset}: cannot decode the {what}: {error}") from error

    def _undecodable(self, partition: int, batch: pa.RecordBatch, index: int,
                     error: Exception, what: str = "value", rest: bool = True) -> None:
        """Message `index` of `batch` did not decode (those before it were handed out):
        raises DecodeError, or under a skip or dead-letter policy hands it to the
        agent's policy, moves the position past it and, with `rest`, reads the rest of
        the batch next."""
        offset = batch.column(2)[index].as_py()
        if self._on_bad_record is None:
            self._fail(partition, offset, error, what)
        self._on_bad_record(partition, offset, batch.column(0)[index].as_py(),
                            batch.column(1)[index].as_py(), error, what)
        self.positions[partition] = offset + 1
        if rest and index + 1 < batch.num_rows:
            self._runs.appendleft((partition, batch.slice(index + 1)))

    # ---- what agents iterate -------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._values(with_keys=False)

    def items(self) -> AsyncIterator[tuple]:
        """(key, value) pairs."""
        return self._values(with_keys=True)

    async def _values(self, with_keys: bool):
        while True:
            try:
                partition, batch = await self._next_messages()
            except StopAsyncIteration:
                return
            values, failure = self._decode_values(batch)
            if with_keys:
                keys, key_failure = self._decode_keys(batch)
                if key_failure is not None and (failure is None or
                                                key_failure[0] < failure[0]):
                    failure = (*key_failure, "key")
                values = list(zip(keys, values))
            offset = batch.column(2)[0].as_py()
            # Until the first message is handed out (after the gate), the event is the
            # message before it: a stream cancelled at the gate has not processed it.
            event = [self.topic.name, partition, offset - 1]
            current_event.set(event)
            positions = self.positions
            gate = self._gate
            stopping = self._stopping
            for value in values:
                # A message is processed once the agent asks for the next one: the
                # position moves past it when the agent resumes this generator.
                if gate.closed:
                    await gate.wait_open(self)
                event[2] = offset
                yield value
                offset += 1
                positions[partition] = offset
                if stopping.requested:
                    return
            if failure is not None:
                self._undecodable(partition, batch, *failure)

    async def batches(self) -> AsyncIterator[pa.RecordBatch]:
        """Whole batches: with the 'arrow' serializer each message's batch as sent; with
        'avro', and 'json' on a topic with a schema, up to 4096 messages decoded in one
        call by the engine's codec; otherwise the decoded values of up to 4096 messages
        as one batch (of the topic's schema when it has one)."""
        arrow = self.topic.value_serializer.name == "arrow"
        loads_columns = self.topic.value_serializer.loads_columns
        while True:
            try:
                partition, batch = await self._next_messages()
            except StopAsyncIteration:
                return
            first = batch.column(2)[0].as_py()
            if loads_columns is not None:
                # The engine's codec decodes the whole poll into one batch.
                decoded, failure = _decode_columns(loads_columns, batch.column(1))
                if decoded is not None:
                    await self._pass_gate()
                    # The batch's last message: a batch the agent raised on counts as
                    # processed as a whole, as a take() list does.
                    current_event.set([self.topic.name, partition,
                                       first + decoded.num_rows - 1])
                    yield decoded
                    self.positions[partition] = first + decoded.num_rows
                    if self._stopping.requested:
                        return
                if failure is not None:
                    self._undecodable(partition, batch, *failure)
                continue
            values, failure = self._decode_values(batch)
            if arrow:
                for i, value in enumerate(values):
                    await self._pass_gate()
                    current_event.set([self.topic.name, partition, first + i])
                    yield value
                    self.positions[partition] = first + i + 1
            elif values:
                await self._pass_gate()
                current_event.set([self.topic.name, partition, first + len(values) - 1])
                yield pa.RecordBatch.from_pylist(values, schema=self.topic.schema)
                self.positions[partition] = first + len(values)
            if self._stopping.requested:
                return
            if failure is not None:
                self._undecodable(partition, batch, *failure)

    async def take(self, max_: int, within: float) -> AsyncIterator[List[Any]]:
        """Lists of up to `max_` values; a list is handed over when full or `within`
        seconds after its first value arrived."""
        if max_ < 1:
            raise ValueError(f"take(): max_ must be positive, got {max_}")
        pending: deque = deque()  # (partition, offset, value) read, not handed over
        stopped = False
        while not stopped:
            buffer: list = []
            started = None
            while len(buffer) < max_:
                if not pending:
                    timeout = None if started is None else started + within - time.monotonic()
                    if timeout is not None and timeout <= 0:
                        break
                    try:
                        found = await self._next_messages(timeout)
                    except StopAsyncIteration:
                        stopped = True
                        break
                    if found is None:
                        break
                    partition, batch = found
                    first = batch.column(2)[0].as_py()
                    values, failure = self._decode_values(batch)
                    for i, value in enumerate(values):
                        pending.append((partition, first + i, value))
                    if failure is not None:
                        pending.append((partition, first + failure[0],
                                        _Failed(batch, *failure)))
                        if self._on_bad_record is not None and \
                                failure[0] + 1 < batch.num_rows:
                            # Passed over later: the messages after it are read next.
                            self._runs.appendleft((partition, batch.slice(failure[0] + 1)))
                if isinstance(pending[0][2], _Failed):
                    if buffer:
                        break  # hand over what came before it first
                    partition, _, failed = pending.popleft()
                    self._undecodable(partition, failed.batch, failed.index, failed.error,
                                      rest=False)
                    continue
                buffer.append(pending.popleft())
                if started is None:
                    started = time.monotonic()
            if buffer:
                await self._pass_gate()
                current_event.set([self.topic.name, buffer[-1][0], buffer[-1][1]])
                yield [value for _, _, value in buffer]
                for partition, offset, _ in buffer:
                    self.positions[partition] = offset + 1
            if self._stopping.requested:
                return


class DecodeError(ValueError):
    """A message of an agent's topic that the topic's serializer cannot decode. The
    agent raises it after the messages before it, the error is logged with the agent's
    name, and the restarted agent resumes after the message (it counts as processed,
    like a message the agent raised on)."""


class _Failed:
    """Stands in a take() buffer for message `index` of `batch`, which did not decode."""

    def __init__(self, batch: pa.RecordBatch, index: int, error: Exception):
        self.batch = batch
        self.index = index
        self.error = error


def _decode_each(loads: Callable, raw: list) -> Tuple[list, Optional[tuple]]:
    """Decodes `raw` one message at a time, up to the first that fails: the values and
    that message's (index, error) or None."""
    try:
        return [loads(v) for v in raw], None
    except Exception:  # noqa: BLE001 - any serializer's error; found and named below
        pass
    values = []
    for index, message in enumerate(raw):
        try:
            values.append(loads(message))
        except Exception as error:  # noqa: BLE001 - re-raised as a DecodeError
            return values, (index, error)
    return values, None


def _decode_columns(decode_prefix: Callable, column: pa.Array) -> Tuple[
        Optional[pa.RecordBatch], Optional[tuple]]:
    """Decodes a poll in one codec call up to its first message that does not decode:
    the batch of the messages before it (None if there are none) and that message's
    (index, error), or None."""
    batch, failure = decode_prefix(column)
    if failure is None:
        return batch, None
    return (batch if batch.num_rows else None), (failure[0], ValueError(failure[1]))


class _OpenGate:
    """The gate of a stream outside an App's worker: never closed."""

    closed = False


_OPEN_GATE = _OpenGate()


class Agent:
    """An agent registered with @app.agent; call ``await agent.send(value)`` to send to
    its topic."""

    def __init__(self, app: "App", fn: Callable, topic: "Topic", sinks: Sequence[Any],
                 concurrency: int, name: str, supervisor: str, on_bad_record: str = "fail",
                 dead_letter: Optional["Topic"] = None):
        if not (inspect.isasyncgenfunction(fn) or inspect.iscoroutinefunction(fn)):
            raise TypeError(f"@app.agent needs an 'async def' function, got {fn!r}")
        if concurrency < 1:
            raise ValueError(f"agent '{name}': concurrency must be at least 1, got {concurrency}")
        if supervisor not in SUPERVISOR_STRATEGIES:
            raise ValueError(f"agent '{name}': unknown supervisor '{supervisor}'; use one of "
                             f"{', '.join(SUPERVISOR_STRATEGIES)}")
        if on_bad_record not in BAD_RECORD_POLICIES:
            raise ValueError(f"agent '{name}': unknown on_bad_record '{on_bad_record}'; use "
                             f"one of {', '.join(BAD_RECORD_POLICIES)}")
        if (on_bad_record == "dead_letter") != (dead_letter is not None):
            raise ValueError(f"agent '{name}': on_bad_record='dead_letter' and dead_letter="
                             f"(the topic for undecodable messages) go together; got "
                             f"on_bad_record='{on_bad_record}', dead_letter={dead_letter!r}")
        self.app = app
        self.fn = fn
        self.topic = topic
        self.sinks = list(sinks)
        self.concurrency = concurrency
        self.name = name
        self.supervisor = supervisor
        self.restarts = 0
        self.on_bad_record = on_bad_record
        self.dead_letter = dead_letter
        # Messages passed over under the skip or dead-letter policy.
        self.bad_records = 0
        self.processed_positions: dict = {p: 0 for p in range(topic.partitions)}

    def __repr__(self) -> str:
        return f"<Agent {self.name} topic={self.topic.name} concurrency={self.concurrency}>"

    def __call__(self, stream):
        return self.fn(stream)

    async def send(self, value: Any = None, key: Any = None, partition: Optional[int] = None):
        return await self.topic.send(value=value, key=key, partition=partition)

    def partitions_of(self, index: int) -> List[int]:
        return [p for p in range(self.topic.partitions) if p % self.concurrency == index]

    async def _deliver(self, value: Any) -> None:
        for sink in self.sinks:
            if hasattr(sink, "send_deferred"):
                sink.send_deferred(value)
            elif hasattr(sink, "send"):
                await sink.send(value=value)
            else:
                result = sink(value)
                if inspect.isawaitable(result):
                    await result

    def _pass_over(self, partition: int, offset: int, key: Optional[bytes],
                   value: Optional[bytes], error: Exception, what: str) -> None:
        """The skip and dead-letter policies for a message that does not decode: counted
        and logged, and under dead_letter appended to that topic (waiting for Kafka's
        acknowledgement, so that it is kept before the message counts as processed) as
        JSON {"agent", "topic", "partition", "offset", "reason", "key", "value"}, bytes
        that are not UTF-8 as "key_base64" / "value_base64", a value over 256 KiB cut
        to that with "value_bytes" (its size) and "value_truncated"; the message's key
        stays its key."""
        self.bad_records += 1
        reason = f"cannot decode the {what}: {error}"
        logger.warning("agent %s: topic '%s' partition %d offset %d: %s; %s", self.name,
                       self.topic.name, partition, offset, reason,
                       "skipped" if self.dead_letter is None else
                       f"sent to dead-letter topic '{self.dead_letter.name}'")
        if self.dead_letter is None:
            return
        letter = {"agent": self.name, "topic": self.topic.name, "partition": partition,
                  "offset": offset, "reason": reason}
        if value is not None and len(value) > DEAD_LETTER_VALUE_BYTES:
            # Kept whole the letter would outgrow the broker's message limit (1 MB by
            # default) and could never be written: its start and its size instead.
            letter["value_bytes"] = len(value)
            letter["value_truncated"] = True
            value = value[:DEAD_LETTER_VALUE_BYTES]
        for field, data in (("key", key), ("value", value)):
            try:
                letter[field] = None if data is None else data.decode("utf-8")
            except UnicodeDecodeError:
                letter[f"{field}_base64"] = base64.b64encode(data).decode("ascii")
        topic = self.dead_letter
        topic._backend.append(topic.partition_for(key), [key], [orjson.dumps(letter)],
                              [int(time.time() * 1000)])

    async def run_instance(self, index: int, stopping: "StopEvent") -> None:
        """Runs instance `index` until its stream ends; raises what the agent raised."""
        stream = AgentStream(self.topic, self.partitions_of(index), self.processed_positions,
                             stopping, gate=self.app._gate,
                             on_bad_record=None if self.on_bad_record == "fail" else
                             self._pass_over)
        self.app._streams.append(stream)
        undelivered = False
        try:
            result = self.fn(stream)
            if inspect.isasyncgen(result):
                queue = [sink.send_deferred for sink in self.sinks
                         if hasattr(sink, "send_deferred")]
                if len(queue) == 1 and len(self.sinks) == 1:
                    # One topic: queue each value without a coroutine or a loop.
                    send = queue[0]
                    async for value in result:
                        send(value)
                elif len(queue) == len(self.sinks):
                    # Only topics: queue each value without a coroutine per sink.
                    async for value in result:
                        for send in queue:
                            send(value)
                else:
                    async for value in result:
                        await self._deliver(value)
            else:
                await result
        except DeliveryError:
            # What the agent yielded may be lost: its message must be read again.
            undelivered = True
            raise
        finally:
            self.app._streams.remove(stream)
            stream.close()
            event = current_event.get()
            # A raising agent's message counts as processed (see the module docstring).
            if not undelivered and event is not None and event[0] == self.topic.name and \
                    event[1] in stream.partitions:
                self.processed_positions[event[1]] = max(self.processed_positions[event[1]],
                                                         event[2] + 1)


class Supervisor:
    """Restarts an agent's crashed instances with exponential backoff (0.1 s doubling
    to 10 s, reset after a minute without a crash): one_for_one restarts the instance
    that crashed, one_for_all every instance, rest_for_one it and those after it. A
    DecodeError restarts at once: the instance resumes after the bad message."""

    def __init__(self, agent: Agent, stopping: "StopEvent",
                 min_backoff: float = 0.1, max_backoff: float = 10.0):
        self.agent = agent
        self.stopping = stopping
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self._tasks: dict = {}
        self._backoff = min_backoff
        self._last_crash = 0.0

    def _start(self, index: int) -> None:
        task = asyncio.ensure_future(self.agent.run_instance(index, self.stopping))
        task.set_name(f"{self.agent.name}[{index}]")
        self._tasks[index] = task

    async def run(self) -> None:
        for index in range(self.agent.concurrency):
            self._start(index)
        while self._tasks and not self.stopping.is_set():
            done, _ = await asyncio.wait(self._tasks.values(),
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                index = next(i for i, t in self._tasks.items() if t is task)
                del self._tasks[index]
                if task.cancelled() or task.exception() is None:
                    continue
                if isinstance(task.exception(), DeliveryError):
                    # Not the agent's fault, and not to be skipped: the worker stops.
                    self.agent.app._fail(task.exception())
                    continue
                await self._restart_after_crash(index, task.exception())
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _restart_after_crash(self, index: int, error: BaseException) -> None:
        agent = self.agent
        agent.restarts += 1
        undecodable = isinstance(error, DecodeError)
        logger.error("agent %s (instance %d of %d) crashed: %s: %s; restarting (%s)",
                     agent.name, index, agent.concurrency, type(error).__name__, error,
                     agent.supervisor, exc_info=None if undecodable else error)
        now = time.monotonic()
        if now - self._last_crash > 60:
            self._backoff = self.min_backoff
        self._last_crash = now
        if agent.supervisor == "one_for_one":
            restart = [index]
        elif agent.supervisor == "one_for_all":
            restart = list(range(agent.concurrency))
        else:
            restart = list(range(index, agent.concurrency))
        for other in restart:
            task = self._tasks.pop(other, None)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if undecodable:
            # The restart resumes after the message: no crash loop to slow down, so a
            # topic with many bad messages is not throttled by the backoff.
            if not self.stopping.is_set():
                for other in restart:
                    self._start(other)
            return
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=self._backoff)
            return
        except asyncio.TimeoutError:
            pass
        self._backoff = min(self._backoff * 2, self.max_backoff)
        for other in restart:
            self._start(other)
