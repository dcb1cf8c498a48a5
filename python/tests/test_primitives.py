"""The engine's time and checkpoint primitives from Python: every method and the
documented semantics (global watermark = minimum over partitions, is_late_event(ts) is
ts < watermark, barrier alignment once every channel delivered, checkpoint ids 1, 2, 3,
timers in timestamp order, de-duplicated, deletable)."""

import random

import pytest

import sabot as sb


# WatermarkTracker

def test_watermark_is_the_minimum_over_partitions():
    tracker = sb.WatermarkTracker(3)
    assert tracker.num_partitions == 3
    assert tracker.watermark is None
    assert tracker.update(0, 100) is None  # partitions 1 and 2 have none yet
    assert tracker.update(1, 300) is None
    assert tracker.update(2, 200) == 100
    assert tracker.watermark == 100
    assert tracker.update(0, 400) == 200
    assert tracker.update(2, 500) == 300
    assert tracker.watermark == 300


def test_watermark_matches_a_model_and_never_goes_back():
    rng = random.Random(7)
    tracker = sb.WatermarkTracker(4)
    latest = [None] * 4
    previous = None
    for _ in range(2000):
        partition = rng.randrange(4)
        ts = rng.randrange(10_000)
        advanced = tracker.update(partition, ts)
        if latest[partition] is None or ts > latest[partition]:
            latest[partition] = ts
        expected = None if None in latest else min(latest)
        if previous is not None and (expected is None or expected < previous):
            expected = previous
        assert tracker.watermark == expected
        assert advanced == (expected if expected != previous else None)
        previous = tracker.watermark


def test_out_of_order_watermark_is_ignored():
    tracker = sb.WatermarkTracker(1)
    assert tracker.update(0, 500) == 500
    assert tracker.update(0, 300) is None
    assert tracker.watermark == 500


def test_is_late_event_is_ts_below_watermark():
    tracker = sb.WatermarkTracker(2)
    assert not tracker.is_late_event(-(2 ** 63))  # no watermark yet: nothing is late
    tracker.update(0, 100)
    tracker.update(1, 100)
    assert tracker.is_late_event(99)
    assert not tracker.is_late_event(100)
    assert not tracker.is_late_event(101)


def test_idle_partition_stops_holding_the_watermark_back():
    tracker = sb.WatermarkTracker(2)
    tracker.update(0, 300)
    assert tracker.mark_idle(1) == 300
    assert not tracker.idle
    # Recorded while idle, counts once active; the watermark does not go back for it.
    assert tracker.update(1, 200) is None
    assert tracker.mark_active(1) is None
    assert tracker.watermark == 300
    assert tracker.update(0, 400) is None  # held back by partition 1 at 200
    assert tracker.update(1, 350) == 350


def test_all_idle_advances_to_the_largest_watermark():
    tracker = sb.WatermarkTracker(2)
    tracker.update(0, 70)
    tracker.update(1, 40)
    assert tracker.watermark == 40
    assert tracker.mark_idle(0) is None
    assert tracker.mark_idle(1) == 70
    assert tracker.idle
    assert tracker.mark_active(0) is None
    assert not tracker.idle


def test_ended_partition_stops_holding_the_watermark_back():
    tracker = sb.WatermarkTracker(2)
    tracker.update(0, 500)
    assert tracker.mark_ended(1) == 500
    assert tracker.mark_ended(0) is None
    assert tracker.watermark == 500
    with pytest.raises(ValueError, match="ended"):
        tracker.mark_ended(0)
    with pytest.raises(ValueError, match="ended"):
        tracker.update(0, 600)


def test_watermark_tracker_rejects_bad_partitions():
    tracker = sb.WatermarkTracker(2)
    for call in (lambda: tracker.update(2, 1), lambda: tracker.update(-1, 1),
                 lambda: tracker.mark_idle(2), lambda: tracker.mark_active(5),
                 lambda: tracker.mark_ended(9)):
        with pytest.raises(ValueError, match="out of range"):
            call()
    with pytest.raises(ValueError):
        sb.WatermarkTracker(0)
    assert "watermark=None" in repr(sb.WatermarkTracker(1))


# Timers

def test_timers_fire_in_timestamp_order():
    timers = sb.Timers()
    assert len(timers) == 0
    assert timers.next_timestamp is None
    for ts, key in [(30, "c"), (10, "a"), (20, "b"), (40, "d")]:
        assert timers.register(ts, key)
    assert len(timers) == 4
    assert timers.next_timestamp == 10
    fired = timers.advance(30)
    assert [(t.timestamp, t.key, t.namespace) for t in fired] == [
        (10, "a", 0), (20, "b", 0), (30, "c", 0)]
    assert len(timers) == 1
    assert timers.next_timestamp == 40
    assert timers.advance(39) == []
    assert timers.advance(100) == [sb.time_primitives.Timer(40, "d", 0)]
    assert timers.next_timestamp is None


def test_timers_are_de_duplicated_per_key_and_namespace():
    timers = sb.Timers()
    assert timers.register(10, ("user", 1))
    assert not timers.register(10, ("user", 1))
    assert timers.register(10, ("user", 1), namespace=5)
    assert timers.register(10, ("user", 2))
    assert len(timers) == 3
    assert len(timers.advance(10)) == 3


def test_same_timestamp_fires_by_key_then_namespace():
    timers = sb.Timers()
    timers.register(5, "b", namespace=1)
    timers.register(5, "a")
    timers.register(5, "b", namespace=0)
    # "b" was registered first, so its timers come first; then by namespace.
    fired = timers.advance(5)
    assert [(t.key, t.namespace) for t in fired] == [("b", 0), ("b", 1), ("a", 0)]


def test_timers_are_deletable():
    timers = sb.Timers()
    timers.register(10, "a")
    timers.register(20, "a")
    assert timers.delete(10, "a")
    assert not timers.delete(10, "a")
    assert not timers.delete(20, "a", namespace=1)
    assert not timers.delete(20, "unknown")
    assert [t.timestamp for t in timers.advance(100)] == [20]


def test_timer_callback_sees_each_timer_and_may_register_due_ones():
    timers = sb.Timers()
    timers.register(10, "k")
    seen = []

    def on_timer(timer):
        seen.append(timer)
        if timer.timestamp == 10:
            timers.register(15, timer.key)  # due: fires in the same advance
            timers.register(50, timer.key)  # not due

    fired = timers.advance(20, on_timer)
    assert [t.timestamp for t in seen] == [10, 15]
    assert fired == seen
    assert timers.next_timestamp == 50


def test_timer_callback_error_propagates():
    timers = sb.Timers()
    timers.register(1, "a")
    timers.register(2, "b")

    def fail(timer):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        timers.advance(10, fail)
    assert len(timers) == 1  # the timer that raised is gone, the other is kept
    assert [t.key for t in timers.advance(10)] == ["b"]


def test_timers_release_keys_they_no_longer_use():
    timers = sb.Timers()
    for i in range(100):
        timers.register(i, f"key-{i}")
    timers.advance(49)
    for i in range(50, 100):
        assert timers.delete(i, f"key-{i}")
    assert timers._ids == {} and timers._keys == {}
    with pytest.raises(TypeError):
        timers.register(1, ["unhashable"])


# Barrier and BarrierTracker

def test_barrier_is_a_checkpoint_id():
    barrier = sb.Barrier(3)
    assert barrier.checkpoint_id == 3
    assert barrier == sb.Barrier(3)
    assert hash(barrier) == hash(sb.Barrier(3))
    for bad in (0, -1, True, "1"):
        with pytest.raises(ValueError):
            sb.Barrier(bad)


def test_barrier_aligned_only_once_every_channel_delivered():
    tracker = sb.BarrierTracker(3)
    assert tracker.num_channels == 3
    assert tracker.pending is None
    assert not tracker.on_barrier(2, sb.Barrier(1))
    assert tracker.pending == 1
    assert tracker.blocked_channels == [2]
    assert not tracker.on_barrier(0, 1)  # an id works too
    assert tracker.blocked_channels == [0, 2]
    assert tracker.on_barrier(1, sb.Barrier(1))
    assert tracker.blocked_channels == []
    assert tracker.pending is None
    assert not tracker.on_barrier(0, 2)


def test_ended_channel_counts_as_delivered():
    tracker = sb.BarrierTracker(3)
    assert tracker.mark_ended(2) is None
    assert not tracker.on_barrier(0, 1)
    assert tracker.on_barrier(1, 1)
    assert not tracker.on_barrier(1, 2)
    assert tracker.mark_ended(0) == 2  # ending the last awaited channel aligns
    with pytest.raises(ValueError, match="ended"):
        tracker.on_barrier(0, 3)
    with pytest.raises(ValueError, match="ended"):
        tracker.mark_ended(0)


def test_barrier_protocol_errors():
    tracker = sb.BarrierTracker(2)
    assert not tracker.on_barrier(0, 4)
    with pytest.raises(ValueError, match="already delivered"):
        tracker.on_barrier(0, 4)
    with pytest.raises(ValueError, match="barrier 5 arrived while aligning barrier 4"):
        tracker.on_barrier(1, 5)
    with pytest.raises(ValueError, match="out of range"):
        tracker.on_barrier(2, 4)
    assert tracker.blocked_channels == [0]
    tracker.reset()
    assert tracker.pending is None and tracker.blocked_channels == []
    assert not tracker.on_barrier(1, 5)
    assert "pending=5" in repr(tracker)
    with pytest.raises(ValueError):
        sb.BarrierTracker(0)


# Coordinator

def test_coordinator_ids_count_from_one():
    coordinator = sb.Coordinator(2)
    assert coordinator.num_tasks == 2
    assert [coordinator.trigger() for _ in range(3)] == [1, 2, 3]
    assert coordinator.pending == [1, 2, 3]
    assert coordinator.completed == []
    assert coordinator.latest_completed is None
    assert sb.Coordinator(1, first_id=8).trigger() == 8


def test_checkpoint_completes_once_every_task_acknowledged():
    coordinator = sb.Coordinator(3)
    checkpoint = coordinator.trigger()
    assert not coordinator.acknowledge(checkpoint, 0)
    assert not coordinator.acknowledge(checkpoint, 2)
    with pytest.raises(ValueError, match="already acknowledged"):
        coordinator.acknowledge(checkpoint, 2)
    assert coordinator.pending == [checkpoint]
    assert coordinator.acknowledge(checkpoint, 1)
    assert coordinator.pending == []
    assert coordinator.completed == [checkpoint]
    assert coordinator.latest_completed == checkpoint
    with pytest.raises(ValueError, match="already complete"):
        coordinator.acknowledge(checkpoint, 0)


def test_declined_checkpoint_is_abandoned():
    coordinator = sb.Coordinator(2)
    first = coordinator.trigger()
    second = coordinator.trigger()
    coordinator.acknowledge(first, 0)
    assert coordinator.decline(first, "disk full")
    assert not coordinator.decline(first, "again")
    assert not coordinator.acknowledge(first, 1)  # late: ignored
    assert coordinator.pending == [second]
    assert coordinator.acknowledge(second, 0) is False
    assert coordinator.acknowledge(second, 1) is True
    assert coordinator.completed == [second]
    assert coordinator.latest_completed == second


def test_coordinator_rejects_unknown_checkpoints_and_tasks():
    coordinator = sb.Coordinator(2)
    with pytest.raises(ValueError, match="never triggered"):
        coordinator.acknowledge(1, 0)
    with pytest.raises(ValueError, match="never triggered"):
        coordinator.decline(1, "no")
    checkpoint = coordinator.trigger()
    for task in (-1, 2, True, "0"):
        with pytest.raises(ValueError, match="task must be"):
            coordinator.acknowledge(checkpoint, task)
    with pytest.raises(ValueError):
        sb.Coordinator(0)
    with pytest.raises(ValueError):
        sb.Coordinator(1, first_id=0)
    assert "pending=[1]" in repr(coordinator)


def test_primitives_together_align_and_checkpoint_a_two_channel_task():
    watermarks = sb.WatermarkTracker(2)
    barriers = sb.BarrierTracker(2)
    coordinator = sb.Coordinator(1)
    timers = sb.Timers()
    timers.register(150, "window")
    checkpoint = coordinator.trigger()
    watermarks.update(0, 200)
    assert not barriers.on_barrier(0, checkpoint)
    assert watermarks.update(1, 150) == 150
    assert [t.key for t in timers.advance(watermarks.watermark)] == ["window"]
    assert barriers.on_barrier(1, checkpoint)
    assert coordinator.acknowledge(checkpoint, 0)
    assert coordinator.latest_completed == 1
