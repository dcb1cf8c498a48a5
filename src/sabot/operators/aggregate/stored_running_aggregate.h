// The running aggregate with its state in the keyed state backend (used on RocksDB):
// one accumulator per key, read and written back a batch at a time, so the number of
// keys is bounded by disk rather than memory.
#pragma once

#include <memory>

namespace sabot {

class Operator;
class RunningAggregateOptions;

std::unique_ptr<Operator> MakeStoredRunningAggregateOperator(
    const RunningAggregateOptions& options);

}  // namespace sabot
