#include "sabot/connectors/collect_sink.h"

#include <arrow/api.h>

#include "sabot/runtime/operator_registry.h"

namespace sabot {

void CollectedBatches::Append(std::shared_ptr<arrow::RecordBatch> batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  batches_.push_back(std::move(batch));
}

std::vector<std::shared_ptr<arrow::RecordBatch>> CollectedBatches::batches() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return batches_;
}

int64_t CollectedBatches::num_rows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t rows = 0;
  for (const auto& batch : batches_) rows += batch->num_rows();
  return rows;
}

Result<std::shared_ptr<arrow::Table>> CollectedBatches::ToTable() const {
  return arrow::Table::FromRecordBatches(schema_, batches());
}

namespace {

class CollectSink : public Operator {
 public:
  explicit CollectSink(std::shared_ptr<CollectedBatches> target)
      : target_(std::move(target)) {}
  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    target_->Append(std::move(batch));
    return Status::OK();
  }

 private:
  std::shared_ptr<CollectedBatches> target_;
};

// Rows are counted by the runtime's node metrics; the sink only has to accept them.
class BlackholeSink : public Operator {
 public:
  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch>) override {
    return Status::OK();
  }
};

}  // namespace

Status RegisterCollectSinks(OperatorRegistry* registry) {
  ARROW_RETURN_NOT_OK(registry->AddOperator(
      "collect_sink",
      [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* typed,
                              CheckedOptionsCast<CollectSinkOptions>(options));
        return std::make_unique<CollectSink>(typed->target());
      }));
  return registry->AddOperator(
      "blackhole_sink", [](const NodeOptions&) -> Result<std::unique_ptr<Operator>> {
        return std::make_unique<BlackholeSink>();
      });
}

}  // namespace sabot
