// Maps a plan node's NodeOptions::kind() to the factory that instantiates its runtime
// operator or source reader. Built-in operators and connectors are registered by
// RegisterBuiltins() (builtins.cc), the one place that lists them; see
// docs/adding_an_operator.md.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"
#include "sabot/runtime/operator.h"
#include "sabot/runtime/source.h"

namespace sabot {

using OperatorFactory =
    std::function<Result<std::unique_ptr<Operator>>(const NodeOptions& options)>;
using SourceFactory = std::function<Result<std::unique_ptr<SourceReader>>(
    const NodeOptions& options, const SourceContext& context)>;

class OperatorRegistry {
 public:
  /// Returns the process-wide registry holding the built-in operators and connectors.
  static OperatorRegistry* Default();

  Status AddOperator(const std::string& kind, OperatorFactory factory);
  Status AddSource(const std::string& kind, SourceFactory factory);

  Result<std::unique_ptr<Operator>> MakeOperator(const PlanNode& node) const;
  Result<std::unique_ptr<SourceReader>> MakeSourceReader(
      const PlanNode& node, const SourceContext& context) const;

 private:
  std::unordered_map<std::string, OperatorFactory> operators_;
  std::unordered_map<std::string, SourceFactory> sources_;
};

/// Registers every built-in operator and connector (defined in builtins.cc).
Status RegisterBuiltins(OperatorRegistry* registry);

/// Casts node options to the concrete type a factory expects.
template <typename T>
Result<const T*> CheckedOptionsCast(const NodeOptions& options) {
  auto* typed = dynamic_cast<const T*>(&options);
  if (typed == nullptr) {
    return Status::Invalid("node options of kind '", options.kind(),
                           "' have an unexpected type");
  }
  return typed;
}

}  // namespace sabot
