// Windows fired by row counts per key (count windows and global windows with a count
// trigger) and global windows fired by event or processing time. Rows are counted per
// key in arrival order at the subtask; results carry the event-time span of their rows
// as window_start / window_end (null without event time).
#pragma once

#include <memory>

namespace sabot {

class Operator;
class WindowAggregateOptions;

std::unique_ptr<Operator> MakeCountWindowOperator(const WindowAggregateOptions& options);
std::unique_ptr<Operator> MakeTimeTriggerWindowOperator(
    const WindowAggregateOptions& options);

/// The count windows of MakeCountWindowOperator with their state in the keyed state
/// backend (used on RocksDB): one entry per key with its row count and the
/// accumulators of its current panes, read and written once per batch, so the state
/// is bounded by disk rather than memory (stored_count_window_operator.cc).
std::unique_ptr<Operator> MakeStoredCountWindowOperator(
    const WindowAggregateOptions& options);
/// The global windows of MakeTimeTriggerWindowOperator with their state in the keyed
/// state backend (used on RocksDB): one accumulator entry per key, and per-key trigger
/// timers in the backend's timer state (stored_time_trigger_window_operator.cc).
std::unique_ptr<Operator> MakeStoredTimeTriggerWindowOperator(
    const WindowAggregateOptions& options);

}  // namespace sabot
