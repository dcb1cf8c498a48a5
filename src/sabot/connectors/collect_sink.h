// Sinks that keep or discard results: collect (for tests and the API's Collect()) and
// blackhole (for benchmarks: counts rows, keeps nothing).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"

namespace arrow {
class RecordBatch;
class Table;
}  // namespace arrow

namespace sabot {

class OperatorRegistry;

/// The batches a collect sink received, from all its subtasks. Thread-safe; read it
/// after the job ended for a complete result.
class CollectedBatches {
 public:
  explicit CollectedBatches(std::shared_ptr<arrow::Schema> schema)
      : schema_(std::move(schema)) {}

  void Append(std::shared_ptr<arrow::RecordBatch> batch);
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches() const;
  int64_t num_rows() const;
  /// Returns all rows as one table (arrival order across subtasks is unspecified).
  Result<std::shared_ptr<arrow::Table>> ToTable() const;

 private:
  std::shared_ptr<arrow::Schema> schema_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches_;
};

class CollectSinkOptions : public NodeOptions {
 public:
  explicit CollectSinkOptions(std::shared_ptr<CollectedBatches> target)
      : target_(std::move(target)) {}
  std::string kind() const override { return "collect_sink"; }
  const std::shared_ptr<CollectedBatches>& target() const { return target_; }

 private:
  std::shared_ptr<CollectedBatches> target_;
};

class BlackholeSinkOptions : public NodeOptions {
 public:
  std::string kind() const override { return "blackhole_sink"; }
};

/// Registers "collect_sink" and "blackhole_sink".
Status RegisterCollectSinks(OperatorRegistry* registry);

}  // namespace sabot
