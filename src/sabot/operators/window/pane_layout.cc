#include "sabot/operators/window/pane_layout.h"

#include <arrow/array/data.h>

#include <numeric>

namespace sabot {

PaneLayout::PaneLayout(const WindowSpec& window, int64_t allowed_lateness_ms)
    : pane_(std::gcd(window.size_ms, window.slide_ms)),
      panes_per_window_(window.size_ms / pane_),
      panes_per_slide_(window.slide_ms / pane_),
      offset_(window.offset_ms),
      lateness_(allowed_lateness_ms) {}

int64_t PaneLayout::FirstOpenWindow(__int128 watermark) const {
  const __int128 first = CeilDiv(watermark - offset_ + 2, pane_) - panes_per_window_;
  return ClampPane(CeilDiv(first, panes_per_slide_) * panes_per_slide_);
}

PaneLayout::Thresholds PaneLayout::ThresholdsAt(int64_t watermark) const {
  if (watermark == kMinWatermark) return {};
  const int64_t first_open =
      watermark == kMaxWatermark ? kMaxWatermark : FirstOpenWindow(watermark);
  Thresholds thresholds;
  thresholds.first_unfired =
      ClampPane(static_cast<__int128>(first_open) - panes_per_slide_ + panes_per_window_);
  thresholds.first_live = FirstOpenWindow(static_cast<__int128>(watermark) - lateness_);
  return thresholds;
}

void AssignPanes(const PaneLayout& layout, const arrow::ArrayData& times,
                 const PaneLayout::Thresholds& thresholds, PaneAssignment* out) {
  const int64_t num_rows = times.length;
  const int64_t* ts = times.GetValues<int64_t>(1);
  const bool has_null_times = times.GetNullCount() > 0;
  out->pane_of_row.resize(num_rows);
  out->late.assign(num_rows, 0);
  out->num_late = 0;
  out->any_update = false;
  bool single_pane = true;
  if (num_rows == 0) {
    out->single_pane = true;
    return;
  }
  // Consecutive rows are close in time: divide only when a row leaves the previous
  // row's pane.
  int64_t pane = layout.PaneOf(ts[0]);
  __int128 pane_start = layout.PaneStart(pane);
  for (int64_t i = 0; i < num_rows; ++i) {
    if (ts[i] < pane_start || ts[i] - pane_start >= layout.pane_ms()) {
      pane = layout.PaneOf(ts[i]);
      pane_start = layout.PaneStart(pane);
    }
    out->pane_of_row[i] = pane;
    const bool too_late =
        (has_null_times && !times.IsValid(i)) || pane < thresholds.first_live;
    out->late[i] = too_late;
    out->num_late += too_late;
    out->any_update |= !too_late && pane < thresholds.first_unfired;
    single_pane &= pane == out->pane_of_row[0];
  }
  out->single_pane = single_pane && out->num_late == 0;
}

}  // namespace sabot
