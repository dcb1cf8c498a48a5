#include "sabot/connectors/table_source.h"

#include <arrow/api.h>

#include "sabot/runtime/operator_registry.h"
#include "sabot/state/state_codec.h"
#include "sabot/types/schemas.h"

namespace sabot {

Result<std::shared_ptr<TableSourceOptions>> TableSourceOptions::Make(
    std::shared_ptr<arrow::Schema> schema,
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches, int64_t repeat) {
  if (!schema) return Status::Invalid("table source needs a schema");
  if (repeat < 1)
    return Status::Invalid("table source repeat must be >= 1, got ", repeat);
  for (size_t i = 0; i < batches.size(); ++i) {
    if (!batches[i]) return Status::Invalid("table source batch ", i, " is null");
    if (!SameNamesAndTypes(*batches[i]->schema(), *schema)) {
      return Status::TypeError("table source batch ", i, " has schema (",
                               batches[i]->schema()->ToString(), "), expected (",
                               schema->ToString(), ")");
    }
  }
  return std::shared_ptr<TableSourceOptions>(
      new TableSourceOptions(std::move(schema), std::move(batches), repeat));
}

std::string TableSourceOptions::Describe() const {
  return "table_source(" + std::to_string(batches_.size()) + " batches x " +
         std::to_string(repeat_) + ")";
}

namespace {

class TableReader : public SourceReader {
 public:
  TableReader(const TableSourceOptions& options, const SourceContext& context)
      : options_(options), next_(context.subtask), step_(context.parallelism) {}

  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    const int64_t num_batches = static_cast<int64_t>(options_.batches().size());
    if (num_batches == 0 || next_ / num_batches >= options_.repeat()) return nullptr;
    auto batch = options_.batches()[next_ % num_batches];
    next_ += step_;
    return batch;
  }

  // Position: the index of the next batch (this subtask reads every step-th batch).
  Result<std::string> SnapshotPosition() override {
    std::string position;
    StateCodec<int64_t>::Append(next_, &position);
    StateCodec<int64_t>::Append(step_, &position);
    return position;
  }

  Status RestorePosition(const std::string& position) override {
    std::string_view in = position;
    ARROW_ASSIGN_OR_RAISE(int64_t next, StateCodec<int64_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(int64_t step, StateCodec<int64_t>::Read(&in));
    if (step != step_) {
      return Status::Invalid("in-memory source position was taken at parallelism ", step,
                             "; restore it at the same parallelism");
    }
    next_ = next;
    return Status::OK();
  }

 private:
  const TableSourceOptions& options_;
  int64_t next_;
  int64_t step_;
};

}  // namespace

Status RegisterTableSource(OperatorRegistry* registry) {
  return registry->AddSource(
      "table_source",
      [](const NodeOptions& options,
         const SourceContext& context) -> Result<std::unique_ptr<SourceReader>> {
        ARROW_ASSIGN_OR_RAISE(auto* typed,
                              CheckedOptionsCast<TableSourceOptions>(options));
        return std::make_unique<TableReader>(*typed, context);
      });
}

}  // namespace sabot
