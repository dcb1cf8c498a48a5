// A deterministic, seeded data generator: every value is a pure function of (seed,
// column, global row index), so the same configuration yields the same rows at any
// parallelism and on any machine. Bounded or unbounded, optionally rate-limited.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"

namespace sabot {

class OperatorRegistry;

struct GeneratorColumn {
  enum class Kind {
    /// int64: the global row index.
    kSequence,
    /// int64 uniform in [int_min, int_max].
    kUniformInt,
    /// double uniform in [double_min, double_max), rounded to `decimals` places.
    kUniformDouble,
    /// utf8: one of `choices`, uniformly.
    kChoice,
    /// int64 event time in ms: start_millis + (row / rows_per_step) × step_millis,
    /// minus a uniform delay in [0, max_delay_millis] (bounded out-of-orderness).
    kEventTime,
  };
  std::string name;
  Kind kind = Kind::kSequence;
  int64_t int_min = 0;
  int64_t int_max = 0;
  double double_min = 0;
  double double_max = 1;
  int decimals = 2;
  std::vector<std::string> choices;
  int64_t start_millis = 0;
  int64_t step_millis = 1;
  int64_t max_delay_millis = 0;
  int64_t rows_per_step = 1;
};

struct GeneratorConfig {
  std::vector<GeneratorColumn> columns;
  uint64_t seed = 42;
  /// Total rows over all subtasks; -1 for an unbounded stream.
  int64_t num_rows = -1;
  /// Rows per batch.
  int64_t batch_size = 64 * 1024;
  /// Total rate over all subtasks in rows per second; 0 means as fast as possible.
  double rows_per_second = 0;
};

/// A stream of card transactions: transaction_id, account, amount, city, _time.
GeneratorConfig TransactionsGenerator(int64_t num_rows, uint64_t seed = 42);

class GeneratorOptions : public NodeOptions {
 public:
  /// Validates the configuration (unique names, ranges, non-empty choices).
  static Result<std::shared_ptr<GeneratorOptions>> Make(GeneratorConfig config);
  std::string kind() const override { return "generator"; }
  std::string Describe() const override;
  const GeneratorConfig& config() const { return config_; }
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }

 private:
  GeneratorOptions(GeneratorConfig config, std::shared_ptr<arrow::Schema> schema)
      : config_(std::move(config)), schema_(std::move(schema)) {}
  GeneratorConfig config_;
  std::shared_ptr<arrow::Schema> schema_;
};

/// Registers the "generator" source.
Status RegisterGeneratorSource(OperatorRegistry* registry);

}  // namespace sabot
