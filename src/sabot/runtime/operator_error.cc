#include "sabot/runtime/operator_error.h"

#include <memory>

namespace sabot {
namespace {

class OperatorErrorDetail : public arrow::StatusDetail {
 public:
  const char* type_id() const override { return "sabot::OperatorErrorDetail"; }
  std::string ToString() const override { return ""; }
};

}  // namespace

Status AnnotateOperatorError(const Status& status, const std::string& node_name,
                             int subtask, int parallelism) {
  if (status.ok() || status.IsCancelled()) return status;
  if (status.detail() &&
      std::string(status.detail()->type_id()) == "sabot::OperatorErrorDetail") {
    return status;
  }
  return Status(status.code(),
                "operator '" + node_name + "' (subtask " + std::to_string(subtask + 1) +
                    "/" + std::to_string(parallelism) + ") failed: " + status.message(),
                std::make_shared<OperatorErrorDetail>());
}

}  // namespace sabot
