// Options of the stateless operators: filter, projection, map, flat_map, union.
// Expressions are bound to the input schema when the options are made, so unknown
// columns and type mismatches fail at plan time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/expr/bound_expression.h"
#include "sabot/plan/logical_plan.h"

namespace sabot {

class OperatorRegistry;

class FilterOptions : public NodeOptions {
 public:
  /// Binds `predicate` to `input_schema`; it must be boolean.
  static Result<std::shared_ptr<FilterOptions>> Make(
      const Expr& predicate, const std::shared_ptr<arrow::Schema>& input_schema);
  std::string kind() const override { return "filter"; }
  std::string Describe() const override;
  const BoundExpr& predicate() const { return predicate_; }

 private:
  explicit FilterOptions(BoundExpr predicate) : predicate_(std::move(predicate)) {}
  BoundExpr predicate_;
};

class ProjectOptions : public NodeOptions {
 public:
  /// Binds each expression; output columns are named by Expr::OutputName() and must be
  /// unique.
  static Result<std::shared_ptr<ProjectOptions>> Make(
      const std::vector<Expr>& expressions,
      const std::shared_ptr<arrow::Schema>& input_schema);
  std::string kind() const override { return "project"; }
  std::string Describe() const override;
  const std::vector<BoundExpr>& expressions() const { return expressions_; }
  const std::shared_ptr<arrow::Schema>& output_schema() const { return output_schema_; }

 private:
  ProjectOptions(std::vector<BoundExpr> expressions,
                 std::shared_ptr<arrow::Schema> schema)
      : expressions_(std::move(expressions)), output_schema_(std::move(schema)) {}
  std::vector<BoundExpr> expressions_;
  std::shared_ptr<arrow::Schema> output_schema_;
};

/// A user function from one batch to one batch. Each subtask gets its own copy.
using MapFunction = std::function<Result<std::shared_ptr<arrow::RecordBatch>>(
    const std::shared_ptr<arrow::RecordBatch>&)>;
/// A user function from one batch to any number of batches (possibly none).
using FlatMapFunction =
    std::function<Result<std::vector<std::shared_ptr<arrow::RecordBatch>>>(
        const std::shared_ptr<arrow::RecordBatch>&)>;

class MapOptions : public NodeOptions {
 public:
  /// `output_schema` is what the function returns; every returned batch is checked.
  MapOptions(std::string name, MapFunction function,
             std::shared_ptr<arrow::Schema> output_schema)
      : name_(std::move(name)),
        function_(std::move(function)),
        schema_(std::move(output_schema)) {}
  std::string kind() const override { return "map"; }
  std::string Describe() const override { return "map(" + name_ + ")"; }
  const MapFunction& function() const { return function_; }
  const std::shared_ptr<arrow::Schema>& output_schema() const { return schema_; }

 private:
  std::string name_;
  MapFunction function_;
  std::shared_ptr<arrow::Schema> schema_;
};

class FlatMapOptions : public NodeOptions {
 public:
  FlatMapOptions(std::string name, FlatMapFunction function,
                 std::shared_ptr<arrow::Schema> output_schema)
      : name_(std::move(name)),
        function_(std::move(function)),
        schema_(std::move(output_schema)) {}
  std::string kind() const override { return "flat_map"; }
  std::string Describe() const override { return "flat_map(" + name_ + ")"; }
  const FlatMapFunction& function() const { return function_; }
  const std::shared_ptr<arrow::Schema>& output_schema() const { return schema_; }

 private:
  std::string name_;
  FlatMapFunction function_;
  std::shared_ptr<arrow::Schema> schema_;
};

class UnionOptions : public NodeOptions {
 public:
  /// All inputs must have equal schemas (names and types).
  static Result<std::shared_ptr<UnionOptions>> Make(
      const std::vector<std::shared_ptr<arrow::Schema>>& input_schemas);
  std::string kind() const override { return "union"; }
};

/// Registers filter, project, map, flat_map and union.
Status RegisterStatelessOperators(OperatorRegistry* registry);

}  // namespace sabot
