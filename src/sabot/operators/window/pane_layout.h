// Pane arithmetic of tumbling and sliding windows, shared by the in-memory and the
// state-backend pane operators: time is cut into panes of gcd(size, slide), a window
// is `panes_per_window` consecutive panes starting at a multiple of `panes_per_slide`.
// Pane indices equal times for 1 ms panes, so they can reach the int64 bounds:
// arithmetic on them is done in 128 bits and clamped.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <arrow/type_fwd.h>

#include "sabot/common/status.h"
#include "sabot/common/time.h"
#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/operators/window/window_spec.h"

namespace sabot {

class PaneLayout {
 public:
  PaneLayout(const WindowSpec& window, int64_t allowed_lateness_ms);

  int64_t pane_ms() const { return pane_; }
  int64_t panes_per_window() const { return panes_per_window_; }
  int64_t panes_per_slide() const { return panes_per_slide_; }

  int64_t PaneOf(int64_t t) const {
    return static_cast<int64_t>(FloorDiv(static_cast<__int128>(t) - offset_, pane_));
  }
  __int128 PaneStart(int64_t pane) const {
    return static_cast<__int128>(pane) * pane_ + offset_;
  }
  /// End (exclusive) of the window starting at pane `start`.
  __int128 WindowEnd(int64_t start) const { return PaneStart(start + panes_per_window_); }
  /// window_start / window_end of the window starting at pane `start`, clamped.
  int64_t Start(int64_t start) const { return ClampTime(PaneStart(start)); }
  int64_t End(int64_t start) const { return ClampTime(WindowEnd(start)); }

  /// Index of the first window start whose last millisecond is after `watermark`.
  int64_t FirstOpenWindow(__int128 watermark) const;

  /// Where rows go at a watermark: panes before `first_unfired` belong only to windows
  /// that fired (rows there update them), panes before `first_live` only to windows
  /// past allowed lateness (rows there are too late).
  struct Thresholds {
    int64_t first_unfired = kMinWatermark;
    int64_t first_live = kMinWatermark;
  };
  Thresholds ThresholdsAt(int64_t watermark) const;

  /// Calls fn(window start) for each fired window containing `pane` that is still
  /// within allowed lateness at `watermark`, oldest first.
  template <typename Fn>
  void ForEachUpdatableWindow(int64_t pane, int64_t watermark, Fn&& fn) const {
    const __int128 lowest =
        CeilDiv(static_cast<__int128>(pane) - panes_per_window_ + 1, panes_per_slide_) *
        panes_per_slide_;
    for (__int128 start = lowest; start <= pane; start += panes_per_slide_) {
      const __int128 last = WindowEnd(static_cast<int64_t>(start)) - 1;
      if (last > watermark) break;
      if (last + lateness_ <= watermark) continue;
      fn(static_cast<int64_t>(start));
    }
  }

  /// Fires, oldest first, every window with data whose last millisecond `watermark`
  /// has reached, calling fire(start); windows without data are skipped without
  /// visiting them one by one. `first_pane_from(p)` returns the first pane >= p that
  /// holds data (nullopt: none). `next_window` is the first window start not fired yet.
  template <typename FirstPaneFrom, typename Fire>
  Status FireDueWindows(int64_t watermark, int64_t* next_window,
                        FirstPaneFrom&& first_pane_from, Fire&& fire) const {
    const int64_t first_open =
        watermark == kMaxWatermark ? kMaxWatermark : FirstOpenWindow(watermark);
    while (true) {
      const std::optional<int64_t> pane = first_pane_from(*next_window);
      if (!pane) break;
      const int64_t covering = static_cast<int64_t>(
          CeilDiv(static_cast<__int128>(*pane) - panes_per_window_ + 1,
                  panes_per_slide_) *
          panes_per_slide_);
      const int64_t start = std::max(*next_window, covering);
      if (start >= first_open && watermark != kMaxWatermark) break;
      ARROW_RETURN_NOT_OK(fire(start));
      if (start > kMaxWatermark - panes_per_slide_) {
        *next_window = kMaxWatermark;
        break;
      }
      *next_window = start + panes_per_slide_;
    }
    *next_window = std::max(*next_window, first_open);
    return Status::OK();
  }

 private:
  static int64_t ClampPane(__int128 pane) { return ClampTime(pane); }

  int64_t pane_;
  int64_t panes_per_window_;
  int64_t panes_per_slide_;
  int64_t offset_;
  int64_t lateness_;
};

/// How the rows of one batch fall into panes.
struct PaneAssignment {
  std::vector<int64_t> pane_of_row;
  /// 1 for rows too late even for allowed lateness (or without event time).
  std::vector<uint8_t> late;
  int64_t num_late = 0;
  /// Some row on time updates a window that already fired.
  bool any_update = false;
  /// Every row is on time and in the same pane.
  bool single_pane = true;
};

/// Assigns the rows of `times` (event-time column) to panes.
void AssignPanes(const PaneLayout& layout, const arrow::ArrayData& times,
                 const PaneLayout::Thresholds& thresholds, PaneAssignment* out);

}  // namespace sabot
