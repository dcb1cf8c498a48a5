#include "sabot/operators/stateless.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <unordered_set>

#include "sabot/runtime/operator_registry.h"
#include "sabot/types/row_selection.h"
#include "sabot/types/schemas.h"

namespace sabot {

namespace cp = arrow::compute;

Result<std::shared_ptr<FilterOptions>> FilterOptions::Make(
    const Expr& predicate, const std::shared_ptr<arrow::Schema>& input_schema) {
  ARROW_ASSIGN_OR_RAISE(BoundExpr bound, BoundExpr::Bind(predicate, input_schema));
  if (bound.type()->id() != arrow::Type::BOOL) {
    return Status::TypeError("filter predicate ", predicate.ToString(), " has type ",
                             bound.type()->ToString(),
                             "; it must be boolean (compare it, e.g. col(\"x\") > 0)");
  }
  return std::shared_ptr<FilterOptions>(new FilterOptions(std::move(bound)));
}

std::string FilterOptions::Describe() const {
  return "filter(" + predicate_.expr().ToString() + ")";
}

Result<std::shared_ptr<ProjectOptions>> ProjectOptions::Make(
    const std::vector<Expr>& expressions,
    const std::shared_ptr<arrow::Schema>& input_schema) {
  if (expressions.empty()) {
    return Status::Invalid("a projection needs at least one expression");
  }
  std::vector<BoundExpr> bound;
  arrow::FieldVector fields;
  std::unordered_set<std::string> names;
  for (const Expr& expr : expressions) {
    ARROW_ASSIGN_OR_RAISE(BoundExpr b, BoundExpr::Bind(expr, input_schema));
    std::string name = expr.OutputName();
    if (!names.insert(name).second) {
      return Status::Invalid("projection outputs column '", name,
                             "' twice; rename one with .As(\"other_name\")");
    }
    fields.push_back(arrow::field(name, b.type()));
    bound.push_back(std::move(b));
  }
  return std::shared_ptr<ProjectOptions>(
      new ProjectOptions(std::move(bound), arrow::schema(std::move(fields))));
}

std::string ProjectOptions::Describe() const {
  std::string text = "project(";
  for (size_t i = 0; i < expressions_.size(); ++i) {
    text += (i ? ", " : "") + expressions_[i].expr().ToString() + " AS " +
            output_schema_->field(static_cast<int>(i))->name();
  }
  return text + ")";
}

Result<std::shared_ptr<UnionOptions>> UnionOptions::Make(
    const std::vector<std::shared_ptr<arrow::Schema>>& input_schemas) {
  if (input_schemas.size() < 2)
    return Status::Invalid("a union needs at least two inputs");
  for (size_t i = 1; i < input_schemas.size(); ++i) {
    if (!SameNamesAndTypes(*input_schemas[i], *input_schemas[0])) {
      return Status::TypeError("union input ", i, " has schema (",
                               input_schemas[i]->ToString(), ") but input 0 has (",
                               input_schemas[0]->ToString(),
                               "); Select the same columns and types on every input");
    }
  }
  return std::make_shared<UnionOptions>();
}

namespace {

class FilterOperator : public Operator {
 public:
  explicit FilterOperator(const FilterOptions& options)
      : predicate_(options.predicate()) {}

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    ARROW_ASSIGN_OR_RAISE(arrow::Datum mask, predicate_.Evaluate(*batch));
    if (mask.is_scalar()) {
      const auto& scalar = mask.scalar_as<arrow::BooleanScalar>();
      if (scalar.is_valid && scalar.value) return output()->Collect(std::move(batch));
      return Status::OK();
    }
    const int64_t selected = arrow::BooleanArray(mask.array()).true_count();
    if (selected == 0) return Status::OK();
    if (selected == batch->num_rows()) return output()->Collect(std::move(batch));
    ARROW_ASSIGN_OR_RAISE(auto filtered, SelectRows(batch, *mask.array()));
    return output()->Collect(std::move(filtered));
  }

 private:
  const BoundExpr predicate_;
};

class ProjectOperator : public Operator {
 public:
  explicit ProjectOperator(const ProjectOptions& options)
      : expressions_(options.expressions()), output_schema_(options.output_schema()) {}

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const int64_t num_rows = batch->num_rows();
    std::vector<std::shared_ptr<arrow::Array>> columns;
    columns.reserve(expressions_.size());
    for (const BoundExpr& expr : expressions_) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum value, expr.Evaluate(*batch));
      if (value.is_scalar()) {
        ARROW_ASSIGN_OR_RAISE(auto array,
                              arrow::MakeArrayFromScalar(*value.scalar(), num_rows));
        columns.push_back(std::move(array));
      } else {
        columns.push_back(value.make_array());
      }
    }
    return output()->Collect(
        arrow::RecordBatch::Make(output_schema_, num_rows, std::move(columns)));
  }

 private:
  const std::vector<BoundExpr> expressions_;
  const std::shared_ptr<arrow::Schema> output_schema_;
};

Status CheckSchema(const std::shared_ptr<arrow::RecordBatch>& batch,
                   const std::shared_ptr<arrow::Schema>& declared, const char* what) {
  if (!batch) return Status::Invalid(what, " returned a null batch");
  if (!SameNamesAndTypes(*batch->schema(), *declared)) {
    return Status::TypeError(what, " returned a batch with schema (",
                             batch->schema()->ToString(), ") but declared (",
                             declared->ToString(),
                             "); declare the schema the function returns");
  }
  return Status::OK();
}

// Calls a user function; an exception it throws becomes an error of the operator
// instead of ending the process.
template <typename Function>
auto CallUserFunction(const Function& function,
                      const std::shared_ptr<arrow::RecordBatch>& batch, const char* what)
    -> decltype(function(batch)) {
  try {
    return function(batch);
  } catch (const std::exception& e) {
    return Status::UnknownError(what, " function threw: ", e.what());
  } catch (...) {
    return Status::UnknownError(what, " function threw a non-standard exception");
  }
}

class MapOperator : public Operator {
 public:
  explicit MapOperator(const MapOptions& options)
      : function_(options.function()), schema_(options.output_schema()) {}

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    ARROW_ASSIGN_OR_RAISE(auto result, CallUserFunction(function_, batch, "map"));
    ARROW_RETURN_NOT_OK(CheckSchema(result, schema_, "map function"));
    return output()->Collect(std::move(result));
  }

 private:
  MapFunction function_;
  std::shared_ptr<arrow::Schema> schema_;
};

class FlatMapOperator : public Operator {
 public:
  explicit FlatMapOperator(const FlatMapOptions& options)
      : function_(options.function()), schema_(options.output_schema()) {}

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    ARROW_ASSIGN_OR_RAISE(auto results, CallUserFunction(function_, batch, "flat_map"));
    for (auto& result : results) {
      ARROW_RETURN_NOT_OK(CheckSchema(result, schema_, "flat_map function"));
      ARROW_RETURN_NOT_OK(output()->Collect(std::move(result)));
    }
    return Status::OK();
  }

 private:
  FlatMapFunction function_;
  std::shared_ptr<arrow::Schema> schema_;
};

class UnionOperator : public Operator {
 public:
  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    return output()->Collect(std::move(batch));
  }
};

template <typename OptionsType, typename OperatorType>
OperatorFactory MakeFactory() {
  return [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
    ARROW_ASSIGN_OR_RAISE(const OptionsType* typed,
                          CheckedOptionsCast<OptionsType>(options));
    return std::make_unique<OperatorType>(*typed);
  };
}

}  // namespace

Status RegisterStatelessOperators(OperatorRegistry* registry) {
  ARROW_RETURN_NOT_OK(
      registry->AddOperator("filter", MakeFactory<FilterOptions, FilterOperator>()));
  ARROW_RETURN_NOT_OK(
      registry->AddOperator("project", MakeFactory<ProjectOptions, ProjectOperator>()));
  ARROW_RETURN_NOT_OK(
      registry->AddOperator("map", MakeFactory<MapOptions, MapOperator>()));
  ARROW_RETURN_NOT_OK(
      registry->AddOperator("flat_map", MakeFactory<FlatMapOptions, FlatMapOperator>()));
  return registry->AddOperator(
      "union", [](const NodeOptions&) -> Result<std::unique_ptr<Operator>> {
        return std::make_unique<UnionOperator>();
      });
}

}  // namespace sabot
