// Event-time session windows per key: each row opens [t, t + gap); sessions of a key
// that overlap or touch merge (their aggregation states are merged slot into slot),
// also when a late row bridges two of them. A session fires when the watermark reaches
// its last millisecond and is kept for allowed lateness.
#pragma once

#include <memory>

namespace sabot {

class Operator;
class WindowAggregateOptions;

std::unique_ptr<Operator> MakeSessionWindowOperator(
    const WindowAggregateOptions& options);

/// The same sessions with their state in the keyed state backend (used on RocksDB):
/// each key's sessions and accumulators are one value, and each session has a timer in
/// the backend, so the state is bounded by disk rather than memory
/// (stored_session_window_operator.cc).
std::unique_ptr<Operator> MakeStoredSessionWindowOperator(
    const WindowAggregateOptions& options);

}  // namespace sabot
