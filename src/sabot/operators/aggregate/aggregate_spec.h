// What to aggregate: the built-in aggregate functions and user-defined ones, named by
// the column they read and the column they produce. Shared by windows and the running
// (non-windowed) keyed aggregation.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"

namespace arrow {
class DataType;
class Field;
class Schema;
}  // namespace arrow

namespace sabot {

class GroupedAggregator;

enum class AggregateKind {
  kCountAll,
  kCount,
  kSum,
  kMin,
  kMax,
  kAvg,
  kFirst,
  kLast,
  kCountDistinct,
  kVariance,
  kVariancePop,
  kStddev,
  kStddevPop,
  kUser,
};

/// Creates the state of a user-defined aggregate for input values of `input_type`.
using AggregatorFactory = std::function<Result<std::unique_ptr<GroupedAggregator>>(
    const std::shared_ptr<arrow::DataType>& input_type)>;

/// One aggregate: what to compute over which column, and the output column's name.
struct AggregateSpec {
  AggregateKind kind = AggregateKind::kCountAll;
  std::string column;
  std::string output_name;
  /// kUser only: the output type and the state factory.
  std::shared_ptr<arrow::DataType> output_type;
  AggregatorFactory factory;

  /// Returns a copy whose output column is named `name`.
  AggregateSpec As(std::string name) const {
    AggregateSpec copy = *this;
    copy.output_name = std::move(name);
    return copy;
  }
};

/// count(*) (no column) or the number of non-null values of `column`; output "count"
/// or "count_<column>".
AggregateSpec Count(std::string column = "");
/// Sum of a numeric column: int64 for integers (overflow is an error), double for
/// floats; "sum_<column>".
AggregateSpec Sum(std::string column);
/// Minimum / maximum of a numeric or temporal column, in the column's type.
AggregateSpec Min(std::string column);
AggregateSpec Max(std::string column);
/// Mean of a numeric column as double, "avg_<column>".
AggregateSpec Avg(std::string column);
/// Value of the row with the smallest / largest event time (ties: the earliest /
/// latest to arrive at the subtask); without event time, arrival order. Numeric,
/// boolean, temporal and string columns; "first_<column>" / "last_<column>".
AggregateSpec First(std::string column);
AggregateSpec Last(std::string column);
/// Exact number of distinct non-null values, "count_distinct_<column>".
AggregateSpec CountDistinct(std::string column);
/// Sample variance / standard deviation (null below two values) and the population
/// forms, as double: "variance_<column>", "stddev_<column>", "variance_pop_<column>",
/// "stddev_pop_<column>".
AggregateSpec Variance(std::string column);
AggregateSpec VariancePop(std::string column);
AggregateSpec Stddev(std::string column);
AggregateSpec StddevPop(std::string column);
/// A user-defined aggregate over `column` (see grouped_aggregator.h); `factory` is
/// called once per aggregation state (per subtask and pane/window set).
AggregateSpec UserAggregate(std::string output_name, std::string column,
                            std::shared_ptr<arrow::DataType> output_type,
                            AggregatorFactory factory);

/// An aggregate checked against its input schema.
struct ResolvedAggregate {
  AggregateSpec spec;
  /// Input column index, -1 for count(*).
  int input = -1;
  /// Type the aggregator consumes (numeric inputs are widened to int64 / double,
  /// strings to utf8); null for count(*).
  std::shared_ptr<arrow::DataType> consumed_type;
  std::shared_ptr<arrow::Field> output_field;
};

/// Resolves `specs` against `input_schema`: unknown columns, unsupported types and
/// duplicate output names give an error that says what to change. `reserved` are
/// output names already taken (key columns, window bounds).
Result<std::vector<ResolvedAggregate>> ResolveAggregates(
    const std::vector<AggregateSpec>& specs, const arrow::Schema& input_schema,
    const std::vector<std::string>& reserved);

}  // namespace sabot
