// Which windows a keyed stream is cut into: time windows (tumbling, sliding, session)
// assigned by event time, and count and global windows fired by triggers. See
// docs/api.md for the semantics and where they differ from Flink.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "sabot/common/status.h"

namespace sabot {

enum class WindowKind { kTumbling, kSliding, kSession, kCount, kGlobal };

enum class TriggerKind { kNever, kCount, kEventTime, kProcessingTime };

/// When a global window emits its per-key results.
struct Trigger {
  TriggerKind kind = TriggerKind::kNever;
  /// kCount: fire a key after every `count` rows of that key.
  int64_t count = 0;
  /// kEventTime / kProcessingTime: fire updated keys every `interval_ms`.
  int64_t interval_ms = 0;
  /// Clear a key's aggregate after it fires (otherwise results are cumulative).
  bool purge = false;

  /// Returns a copy that clears each key's state after firing it.
  Trigger Purging() const {
    Trigger copy = *this;
    copy.purge = true;
    return copy;
  }
};

Trigger CountTrigger(int64_t count);
/// Fires a key when the watermark reaches the first multiple of `interval` after one of
/// its rows (as Flink's ContinuousEventTimeTrigger), so at the latest at end of input.
Trigger EventTimeTrigger(std::chrono::milliseconds interval);
/// Fires keys updated since the last firing every `interval` of wall-clock time, and
/// at end of input.
Trigger ProcessingTimeTrigger(std::chrono::milliseconds interval);

struct WindowSpec {
  WindowKind kind = WindowKind::kTumbling;
  int64_t size_ms = 0;
  int64_t slide_ms = 0;
  int64_t offset_ms = 0;
  int64_t gap_ms = 0;
  int64_t count = 0;
  int64_t count_slide = 0;
  Trigger trigger;

  /// Checks the parameters; the error names the bad one.
  Status Validate() const;
  std::string ToString() const;
  /// Time windows need an event-time column; count and global windows do not.
  bool NeedsEventTime() const {
    return kind == WindowKind::kTumbling || kind == WindowKind::kSliding ||
           kind == WindowKind::kSession ||
           (kind == WindowKind::kGlobal && trigger.kind == TriggerKind::kEventTime);
  }
};

/// [start, start + size) windows with start = offset + k * size (aligned to the epoch).
WindowSpec Tumbling(std::chrono::milliseconds size,
                    std::chrono::milliseconds offset = std::chrono::milliseconds(0));
/// Windows of `size` starting every `slide` (hopping); a row belongs to size/slide
/// windows, but partial aggregates are shared through panes of gcd(size, slide).
WindowSpec Sliding(std::chrono::milliseconds size, std::chrono::milliseconds slide,
                   std::chrono::milliseconds offset = std::chrono::milliseconds(0));
/// Per-key activity sessions: a row opens [t, t + gap); sessions that overlap or touch
/// merge, also when a late row bridges two of them.
WindowSpec Session(std::chrono::milliseconds gap);
/// Per-key windows of `size` rows; with `slide` > 0, fires every `slide` rows with the
/// last `size` rows (fewer at the start), as Flink's countWindow(size, slide).
WindowSpec CountWindow(int64_t size, int64_t slide = 0);
/// One window per key for all time, emitted by `trigger`.
WindowSpec GlobalWindow(Trigger trigger);

}  // namespace sabot
