#include "sabot/runtime/operator_registry.h"

namespace sabot {

OperatorRegistry* OperatorRegistry::Default() {
  static OperatorRegistry* registry = [] {
    auto* r = new OperatorRegistry();
    Status st = RegisterBuiltins(r);
    if (!st.ok()) st.Abort("registering built-in operators");
    return r;
  }();
  return registry;
}

Status OperatorRegistry::AddOperator(const std::string& kind, OperatorFactory factory) {
  if (!operators_.emplace(kind, std::move(factory)).second) {
    return Status::KeyError("operator kind '", kind, "' is already registered");
  }
  return Status::OK();
}

Status OperatorRegistry::AddSource(const std::string& kind, SourceFactory factory) {
  if (!sources_.emplace(kind, std::move(factory)).second) {
    return Status::KeyError("source kind '", kind, "' is already registered");
  }
  return Status::OK();
}

Result<std::unique_ptr<Operator>> OperatorRegistry::MakeOperator(
    const PlanNode& node) const {
  auto it = operators_.find(node.options->kind());
  if (it == operators_.end()) {
    return Status::KeyError("node '", node.name, "': no operator registered for kind '",
                            node.options->kind(), "'");
  }
  return it->second(*node.options);
}

Result<std::unique_ptr<SourceReader>> OperatorRegistry::MakeSourceReader(
    const PlanNode& node, const SourceContext& context) const {
  auto it = sources_.find(node.options->kind());
  if (it == sources_.end()) {
    return Status::KeyError("node '", node.name, "': no source registered for kind '",
                            node.options->kind(), "'");
  }
  return it->second(*node.options, context);
}

}  // namespace sabot
