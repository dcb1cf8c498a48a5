// The print sink: writes every row to stdout as a JSON line, like Flink's print() sink.
// With parallelism > 1 each line starts with "<subtask + 1>> " (and the user prefix,
// "prefix:<subtask + 1>> "), so lines of different subtasks can be told apart.
#pragma once

#include <string>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"

namespace sabot {

class OperatorRegistry;

class PrintSinkOptions : public NodeOptions {
 public:
  /// `prefix` (may be empty) starts every printed line, e.g. "orders> {...}".
  explicit PrintSinkOptions(std::string prefix = "") : prefix_(std::move(prefix)) {}

  std::string kind() const override { return "print_sink"; }
  std::string Describe() const override;

  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

/// Registers the "print_sink" operator. Each subtask renders a whole batch, then writes
/// it with one fwrite under a process-wide mutex, so lines of subtasks never interleave.
Status RegisterPrintSink(OperatorRegistry* registry);

}  // namespace sabot
