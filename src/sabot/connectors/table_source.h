// A source over in-memory record batches: for tests, benchmarks and embedding
// applications that already hold Arrow data.
#pragma once

#include <memory>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"

namespace arrow {
class RecordBatch;
}  // namespace arrow

namespace sabot {

class OperatorRegistry;

class TableSourceOptions : public NodeOptions {
 public:
  /// Subtask i of p emits batches i, i + p, ...; the whole list is emitted `repeat`
  /// times (benchmarks replay the same data). All batches must have `schema`.
  static Result<std::shared_ptr<TableSourceOptions>> Make(
      std::shared_ptr<arrow::Schema> schema,
      std::vector<std::shared_ptr<arrow::RecordBatch>> batches, int64_t repeat = 1);
  std::string kind() const override { return "table_source"; }
  std::string Describe() const override;
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches() const {
    return batches_;
  }
  int64_t repeat() const { return repeat_; }

 private:
  TableSourceOptions(std::shared_ptr<arrow::Schema> schema,
                     std::vector<std::shared_ptr<arrow::RecordBatch>> batches,
                     int64_t repeat)
      : schema_(std::move(schema)), batches_(std::move(batches)), repeat_(repeat) {}
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches_;
  int64_t repeat_;
};

/// Registers the "table_source" source.
Status RegisterTableSource(OperatorRegistry* registry);

}  // namespace sabot
