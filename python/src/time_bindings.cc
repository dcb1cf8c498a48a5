// The engine's time and checkpoint bookkeeping for Python users who build their own
// processing: the same classes the runtime's input gates and checkpoint coordinator
// use (WatermarkTracker, BarrierTracker, CheckpointTracker) and the timer queue of
// keyed operators. sabot/time_primitives.py wraps them with Python keys, Barrier values
// and per-task acknowledgements.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <optional>
#include <string>

#include "bindings.h"
#include "sabot/checkpoint/barrier_tracker.h"
#include "sabot/checkpoint/checkpoint_tracker.h"
#include "sabot/time/timer_service.h"
#include "sabot/time/watermark_tracker.h"

namespace sabot::python {

void InitializeTime(nb::module_& module) {
  nb::class_<WatermarkTracker>(module, "WatermarkTracker")
      .def(nb::init<int>(), nb::arg("num_channels"))
      .def(
          "update",
          [](WatermarkTracker& tracker, int channel, int64_t watermark) {
            return ValueOrThrow(tracker.Update(channel, watermark));
          },
          nb::arg("channel"), nb::arg("watermark"))
      .def(
          "set_idle",
          [](WatermarkTracker& tracker, int channel, bool idle) {
            return ValueOrThrow(tracker.SetIdle(channel, idle)).watermark;
          },
          nb::arg("channel"), nb::arg("idle"))
      .def(
          "mark_ended",
          [](WatermarkTracker& tracker, int channel) {
            return ValueOrThrow(tracker.MarkEnded(channel)).watermark;
          },
          nb::arg("channel"))
      .def("is_late", &WatermarkTracker::IsLate, nb::arg("timestamp"))
      .def_prop_ro("current", &WatermarkTracker::current)
      .def_prop_ro("idle", &WatermarkTracker::idle)
      .def_prop_ro("all_ended", &WatermarkTracker::all_ended)
      .def_prop_ro("num_channels", &WatermarkTracker::num_channels);

  nb::class_<BarrierTracker>(module, "BarrierTracker")
      .def(nb::init<int>(), nb::arg("num_channels"))
      .def(
          "on_barrier",
          [](BarrierTracker& tracker, int channel, int64_t checkpoint_id) {
            return ValueOrThrow(tracker.OnBarrier(channel, checkpoint_id));
          },
          nb::arg("channel"), nb::arg("checkpoint_id"))
      .def(
          "mark_ended",
          [](BarrierTracker& tracker, int channel) {
            return ValueOrThrow(tracker.MarkEnded(channel));
          },
          nb::arg("channel"))
      .def("reset", &BarrierTracker::Reset)
      .def_prop_ro("pending", &BarrierTracker::pending)
      .def_prop_ro("blocked_channels", &BarrierTracker::BlockedChannels)
      .def_prop_ro("num_channels", &BarrierTracker::num_channels);

  nb::class_<CheckpointTracker>(module, "CheckpointTracker")
      .def(
          "__init__",
          [](CheckpointTracker* self, int num_tasks, int64_t first_id) {
            new (self) CheckpointTracker(
                ValueOrThrow(CheckpointTracker::Make(num_tasks, first_id)));
          },
          nb::arg("num_tasks"), nb::arg("first_id") = 1)
      .def("trigger", &CheckpointTracker::Trigger)
      .def(
          "acknowledge",
          [](CheckpointTracker& tracker, int64_t id) {
            return ValueOrThrow(tracker.Acknowledge(id));
          },
          nb::arg("checkpoint_id"))
      .def(
          "complete",
          [](CheckpointTracker& tracker, int64_t id) {
            ThrowIfError(tracker.Complete(id));
          },
          nb::arg("checkpoint_id"))
      .def(
          "abandon",
          [](CheckpointTracker& tracker, int64_t id, const std::string& reason) {
            return ValueOrThrow(tracker.Abandon(id, reason));
          },
          nb::arg("checkpoint_id"), nb::arg("reason"))
      .def_prop_ro("pending", &CheckpointTracker::Pending)
      .def_prop_ro("completed", &CheckpointTracker::Completed)
      .def_prop_ro("latest_completed", &CheckpointTracker::latest_completed)
      .def_prop_ro("num_tasks", &CheckpointTracker::num_tasks);

  // Keys are uint32 ids here: sabot.Timers maps Python keys to them.
  nb::class_<TimerQueue>(module, "TimerQueue")
      .def(nb::init<>())
      .def(
          "register",
          [](TimerQueue& queue, int64_t timestamp, uint32_t key, int64_t name_space) {
            return queue.Register({timestamp, key, name_space});
          },
          nb::arg("timestamp"), nb::arg("key"), nb::arg("namespace"))
      .def(
          "delete",
          [](TimerQueue& queue, int64_t timestamp, uint32_t key, int64_t name_space) {
            return queue.Delete({timestamp, key, name_space});
          },
          nb::arg("timestamp"), nb::arg("key"), nb::arg("namespace"))
      // `fire(timestamp, key, namespace)` may register timers; those due fire too. An
      // exception it raises propagates, and that timer is gone.
      .def(
          "advance",
          [](TimerQueue& queue, int64_t time, nb::callable fire) {
            ThrowIfError(queue.Advance(time, [&](const Timer& timer) {
              fire(timer.timestamp, timer.key, timer.name_space);
              return Status::OK();
            }));
          },
          nb::arg("time"), nb::arg("fire"))
      .def_prop_ro("next_timestamp",
                   [](const TimerQueue& queue) -> std::optional<int64_t> {
                     if (queue.empty()) return std::nullopt;
                     return queue.next_timestamp();
                   })
      .def("__len__", &TimerQueue::size);
}

}  // namespace sabot::python
