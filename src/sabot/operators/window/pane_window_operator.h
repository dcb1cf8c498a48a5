// Tumbling and sliding event-time windows over panes. Time is cut into panes of
// gcd(size, slide); each row is folded into exactly one pane, whatever size/slide is.
// A window of n panes is assembled when it fires from two shared partial aggregates:
// the suffix of its starting block of n panes (computed once per block, right to left)
// and the running prefix of the next block, so each firing costs O(keys) merges
// independent of n (the "two stacks" idea applied to aligned blocks).
#pragma once

#include <memory>

#include "sabot/common/status.h"

namespace sabot {

class Operator;
class WindowAggregateOptions;

std::unique_ptr<Operator> MakePaneWindowOperator(const WindowAggregateOptions& options);

/// The same windows with their state in the keyed state backend (used on RocksDB):
/// one accumulator per (key, pane) and an index of each pane's keys, so the state is
/// bounded by disk rather than memory (stored_pane_window_operator.cc).
std::unique_ptr<Operator> MakeStoredPaneWindowOperator(
    const WindowAggregateOptions& options);

}  // namespace sabot
