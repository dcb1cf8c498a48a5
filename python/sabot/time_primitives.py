"""The engine's event-time and checkpoint primitives for your own processing. They are
the bookkeeping the runtime itself uses (its input gates and checkpoint coordinator),
not a Python copy of it, so they behave as the engine does.

    tracker = sb.WatermarkTracker(num_partitions=2)
    tracker.update(0, 1_000)         # None: partition 1 has no watermark yet
    tracker.update(1, 800)           # 800 = min(1000, 800)
    tracker.is_late_event(750)       # True: 750 < 800

    timers = sb.Timers()
    timers.register(900, "alice")
    timers.advance(tracker.watermark)   # [Timer(timestamp=900, key='alice', namespace=0)]

    barriers = sb.BarrierTracker(num_channels=2)
    coordinator = sb.Coordinator(num_tasks=1)
    checkpoint = coordinator.trigger()                 # 1, then 2, 3, ...
    barriers.on_barrier(0, sb.Barrier(checkpoint))     # False: channel 1 still owes it
    barriers.on_barrier(1, checkpoint)                 # True: aligned, take the snapshot
    coordinator.acknowledge(checkpoint, task=0)        # True: complete

Timestamps and watermarks are ints (the engine uses epoch milliseconds; any int64 unit
works if used consistently). None of these classes is thread-safe: as in the engine,
one thread drives each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Hashable, List, NamedTuple, Optional, Set, Union

from . import _sabot

# The engine's watermark before any: no event is late against it.
_MIN_WATERMARK = -(2 ** 63)


def _check_count(value: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be an int >= 1, got {value!r}")
    return value


class WatermarkTracker:
    """The combined event time of several partitions (or input channels).

    The global watermark is the minimum over the partitions that are neither idle nor
    ended, and never goes backwards: a partition's watermark behind the global one is
    recorded but changes nothing. It is None until every active partition reported one.
    An idle partition stops holding the watermark back until `mark_active`; an update
    on an idle partition is recorded and counts once it is active again. When every
    open partition is idle, the watermark advances to the largest any partition reached
    (as Flink does, so results do not wait for inputs that may never send again). An
    ended partition no longer holds the others back; its watermark is final.
    `is_late_event(ts)` is `ts < watermark`.
    """

    def __init__(self, num_partitions: int):
        self._tracker = _sabot.WatermarkTracker(_check_count(num_partitions,
                                                             "num_partitions"))

    def update(self, partition: int, timestamp: int) -> Optional[int]:
        """Event time reached `timestamp` on `partition`. Returns the new global watermark
        if it advanced, else None. ValueError for a bad or ended partition."""
        return self._tracker.update(partition, timestamp)

    def mark_idle(self, partition: int) -> Optional[int]:
        """`partition` sends nothing for now: it no longer holds the watermark back.
        Returns the watermark this released, if it advanced."""
        return self._tracker.set_idle(partition, True)

    def mark_active(self, partition: int) -> Optional[int]:
        """`partition` sends again: its watermark counts again (the global one does not
        go back for it). Returns the new global watermark if it advanced."""
        return self._tracker.set_idle(partition, False)

    def mark_ended(self, partition: int) -> Optional[int]:
        """`partition` has no more data. Returns the watermark this released, if it
        advanced; once every partition ended the watermark stays where it is.
        ValueError if it had already ended."""
        return self._tracker.mark_ended(partition)

    @property
    def watermark(self) -> Optional[int]:
        """The global watermark; None before there is one."""
        current = self._tracker.current
        return None if current == _MIN_WATERMARK else current

    def is_late_event(self, timestamp: int) -> bool:
        """Whether an event at `timestamp` is behind the watermark (`timestamp <
        watermark`); never before there is a watermark."""
        return self._tracker.is_late(timestamp)

    @property
    def idle(self) -> bool:
        """Whether every open partition is idle."""
        return self._tracker.idle

    @property
    def num_partitions(self) -> int:
        return self._tracker.num_channels

    def __repr__(self) -> str:
        return (f"WatermarkTracker(num_partitions={self.num_partitions}, "
                f"watermark={self.watermark})")


class Timer(NamedTuple):
    """A timer that fired."""
    timestamp: int
    key: Any
    namespace: int


class Timers:
    """Timers per key and namespace, on the engine's timer queue.

    `register(ts, key)` twice keeps one timer (de-duplicated by timestamp, key and
    namespace); `delete` removes one; `advance(time)` fires every timer with timestamp
    <= time, earliest first. Timers due at the same timestamp fire in the order their
    keys were first registered (among the keys with live timers), then by namespace.
    Keys are any hashable Python values.
    """

    def __init__(self):
        self._queue = _sabot.TimerQueue()
        # The queue orders uint32 key ids: a key keeps its id while it has timers.
        self._ids: Dict[Hashable, int] = {}
        self._keys: Dict[int, Hashable] = {}
        self._live: Dict[int, int] = {}
        self._next_id = 0

    def register(self, timestamp: int, key: Hashable, namespace: int = 0) -> bool:
        """Registers a timer; returns False if that timer was already registered."""
        key_id = self._ids.get(key)
        new_key = key_id is None
        if new_key:
            if self._next_id > 0xFFFFFFFF:
                raise RuntimeError("Timers ran out of key ids (2**32 keys registered)")
            key_id = self._next_id
        if not self._queue.register(timestamp, key_id, namespace):
            return False
        if new_key:
            self._next_id += 1
            self._ids[key] = key_id
            self._keys[key_id] = key
            self._live[key_id] = 0
        self._live[key_id] += 1
        return True

    def delete(self, timestamp: int, key: Hashable, namespace: int = 0) -> bool:
        """Deletes a timer; returns False if there was no such timer."""
        key_id = self._ids.get(key)
        if key_id is None or not self._queue.delete(timestamp, key_id, namespace):
            return False
        self._unref(key_id)
        return True

    def advance(self, time: int,
                callback: Optional[Callable[[Timer], Any]] = None) -> List[Timer]:
        """Fires every timer with timestamp <= `time`, earliest first, and returns them
        in that order. With `callback`, calls it with each timer as it fires; timers it
        registers that are due fire in the same call. If it raises, the exception
        propagates: that timer is gone, the ones not yet fired stay registered."""
        fired: List[Timer] = []

        def fire(timestamp: int, key_id: int, namespace: int) -> None:
            timer = Timer(timestamp, self._keys[key_id], namespace)
            self._unref(key_id)
            fired.append(timer)
            if callback is not None:
                callback(timer)

        self._queue.advance(time, fire)
        return fired

    @property
    def next_timestamp(self) -> Optional[int]:
        """The earliest timer's timestamp; None when there is none."""
        return self._queue.next_timestamp

    def __len__(self) -> int:
        return len(self._queue)

    def _unref(self, key_id: int) -> None:
        self._live[key_id] -= 1
        if self._live[key_id] == 0:
            self._release(key_id)

    def _release(self, key_id: int) -> None:
        del self._ids[self._keys.pop(key_id)]
        del self._live[key_id]


@dataclass(frozen=True)
class Barrier:
    """A checkpoint barrier: what the engine sends in band with the records, from the
    sources down, for checkpoint `checkpoint_id` (>= 1). It carries only the id."""
    checkpoint_id: int

    def __post_init__(self):
        _check_count(self.checkpoint_id, "checkpoint_id")


class BarrierTracker:
    """Barrier alignment over input channels, for aligned checkpoints.

    A task takes its snapshot for checkpoint n once barrier n arrived on every channel.
    A channel that delivered the barrier is blocked (do not process its records)
    until then; an ended channel counts as delivered. One checkpoint is aligned at a
    time: another barrier while one is pending, or a second barrier on a blocked channel,
    is a ValueError.
    """

    def __init__(self, num_channels: int):
        self._tracker = _sabot.BarrierTracker(_check_count(num_channels, "num_channels"))

    def on_barrier(self, channel: int, barrier: Union[Barrier, int]) -> bool:
        """`barrier` (a Barrier or a checkpoint id) arrived on `channel`. Returns True
        when every channel has delivered it (or ended): aligned, and every channel is
        unblocked. ValueError for a bad or ended channel, a channel already blocked, or a
        barrier other than the pending one."""
        checkpoint_id = (barrier.checkpoint_id if isinstance(barrier, Barrier)
                         else Barrier(barrier).checkpoint_id)
        return self._tracker.on_barrier(channel, checkpoint_id)

    def mark_ended(self, channel: int) -> Optional[int]:
        """`channel` has no more input: it no longer holds an alignment back. Returns
        the checkpoint id whose alignment this completed, else None."""
        return self._tracker.mark_ended(channel)

    def reset(self) -> None:
        """Drops the pending alignment (an abandoned checkpoint); unblocks every
        channel."""
        self._tracker.reset()

    @property
    def pending(self) -> Optional[int]:
        """The checkpoint being aligned, if any."""
        return self._tracker.pending

    @property
    def blocked_channels(self) -> List[int]:
        """Channels that delivered the pending barrier, ascending."""
        return self._tracker.blocked_channels

    @property
    def num_channels(self) -> int:
        return self._tracker.num_channels

    def __repr__(self) -> str:
        return (f"BarrierTracker(num_channels={self.num_channels}, "
                f"pending={self.pending}, blocked_channels={self.blocked_channels})")


class Coordinator:
    """Checkpoint bookkeeping with the engine's rules: `trigger()` returns ids 1, 2,
    3, ... (from `first_id` when resuming after a restored checkpoint); a checkpoint is
    pending until each of the `num_tasks` tasks acknowledged it once (then complete) or
    one declined it (then abandoned, and later acknowledgements are ignored).
    """

    def __init__(self, num_tasks: int, first_id: int = 1):
        self._tracker = _sabot.CheckpointTracker(_check_count(num_tasks, "num_tasks"),
                                                 first_id)
        self._acknowledged: Dict[int, Set[int]] = {}

    def trigger(self) -> int:
        """Starts the next checkpoint and returns its id."""
        checkpoint_id = self._tracker.trigger()
        self._acknowledged[checkpoint_id] = set()
        return checkpoint_id

    def acknowledge(self, checkpoint_id: int, task: int) -> bool:
        """Task `task` (0 to num_tasks - 1) took its snapshot for `checkpoint_id`.
        Returns True when that completed the checkpoint; False while tasks are still
        owed, or if it was abandoned. ValueError for a bad task, an unknown or completed
        checkpoint, or a task acknowledging twice."""
        if not isinstance(task, int) or isinstance(task, bool) or not (
                0 <= task < self.num_tasks):
            raise ValueError(f"task must be 0 to {self.num_tasks - 1}, got {task!r}")
        acknowledged = self._acknowledged.get(checkpoint_id)
        if acknowledged is None:  # not pending: the engine says why, or ignores it
            return self._tracker.acknowledge(checkpoint_id)
        if task in acknowledged:
            raise ValueError(f"task {task} already acknowledged checkpoint "
                             f"{checkpoint_id}")
        acknowledged.add(task)
        if not self._tracker.acknowledge(checkpoint_id):
            return False
        self._tracker.complete(checkpoint_id)
        del self._acknowledged[checkpoint_id]
        return True

    def decline(self, checkpoint_id: int, reason: str = "declined") -> bool:
        """A task could not take its snapshot: abandons `checkpoint_id`. Returns False if
        it was no longer pending. ValueError for an id never triggered."""
        abandoned = self._tracker.abandon(checkpoint_id, reason)
        self._acknowledged.pop(checkpoint_id, None)
        return abandoned

    @property
    def pending(self) -> List[int]:
        """Pending checkpoint ids, ascending."""
        return self._tracker.pending

    @property
    def completed(self) -> List[int]:
        """Completed checkpoint ids, ascending."""
        return self._tracker.completed

    @property
    def latest_completed(self) -> Optional[int]:
        """The newest completed checkpoint id; None before the first."""
        return self._tracker.latest_completed

    @property
    def num_tasks(self) -> int:
        return self._tracker.num_tasks

    def __repr__(self) -> str:
        return (f"Coordinator(num_tasks={self.num_tasks}, pending={self.pending}, "
                f"latest_completed={self.latest_completed})")
