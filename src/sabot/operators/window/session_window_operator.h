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

}  // namespace sabot
