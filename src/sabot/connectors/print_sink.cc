#include "sabot/connectors/print_sink.h"

#include <cstdio>
#include <mutex>

#include <arrow/record_batch.h>

#include "sabot/connectors/json_lines_format.h"
#include "sabot/runtime/operator_registry.h"

namespace sabot {
namespace {

// Serialises writes of all print sinks of the process: one batch is one fwrite, so a
// line is never cut by another subtask's output.
std::mutex& StdoutMutex() {
  static std::mutex mutex;
  return mutex;
}

// Returns the line prefix of Flink's PrintSinkOutputWriter: "prefix:2> ", "2> ",
// "prefix> " or nothing.
std::string LinePrefix(const std::string& prefix, int subtask, int parallelism) {
  std::string line_prefix = prefix;
  if (parallelism > 1) {
    if (!line_prefix.empty()) line_prefix.push_back(':');
    line_prefix += std::to_string(subtask + 1);
  }
  if (!line_prefix.empty()) line_prefix += "> ";
  return line_prefix;
}

class PrintSinkOperator : public Operator {
 public:
  explicit PrintSinkOperator(std::string prefix) : prefix_(std::move(prefix)) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    line_prefix_ = LinePrefix(prefix_, context.subtask, context.parallelism);
    return Status::OK();
  }

  Status ProcessBatch(int port, std::shared_ptr<arrow::RecordBatch> batch) override {
    text_.clear();
    ARROW_RETURN_NOT_OK(AppendJsonLines(*batch, &text_, line_prefix_));
    std::lock_guard<std::mutex> lock(StdoutMutex());
    // Flushed per batch so that printed rows appear while a long job runs.
    if (std::fwrite(text_.data(), 1, text_.size(), stdout) != text_.size() ||
        std::fflush(stdout) != 0) {
      return Status::IOError("print sink cannot write to stdout");
    }
    return Status::OK();
  }

 private:
  std::string prefix_;
  std::string line_prefix_;
  // Reused between batches so that printing does not allocate in the steady state.
  std::string text_;
};

}  // namespace

std::string PrintSinkOptions::Describe() const {
  return prefix_.empty() ? "print_sink" : "print_sink(" + prefix_ + ")";
}

Status RegisterPrintSink(OperatorRegistry* registry) {
  return registry->AddOperator(
      "print_sink", [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* print, CheckedOptionsCast<PrintSinkOptions>(options));
        return std::make_unique<PrintSinkOperator>(print->prefix());
      });
}

}  // namespace sabot
