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

}  // namespace sabot
