#include "sabot/operators/aggregate/aggregate_spec.h"

#include <arrow/api.h>

#include <algorithm>

#include "sabot/operators/aggregate/consumed_column.h"

namespace sabot {
namespace {

AggregateSpec Spec(AggregateKind kind, std::string column, const char* prefix) {
  std::string name = column.empty() ? prefix : std::string(prefix) + "_" + column;
  AggregateSpec spec;
  spec.kind = kind;
  spec.column = std::move(column);
  spec.output_name = std::move(name);
  return spec;
}

const char* KindName(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::kSum:
      return "Sum";
    case AggregateKind::kAvg:
      return "Avg";
    case AggregateKind::kMin:
      return "Min";
    case AggregateKind::kMax:
      return "Max";
    case AggregateKind::kFirst:
      return "First";
    case AggregateKind::kLast:
      return "Last";
    case AggregateKind::kCountDistinct:
      return "CountDistinct";
    default:
      return "Variance/Stddev";
  }
}

// Returns the consumed type for `kind` over `input`, or null when unsupported.
std::shared_ptr<arrow::DataType> ConsumedTypeFor(AggregateKind kind,
                                                 const arrow::DataType& input) {
  const bool integer = arrow::is_integer(input.id());
  const bool floating = arrow::is_floating(input.id());
  const bool temporal = IsTemporalType(input);
  const bool text =
      input.id() == arrow::Type::STRING || input.id() == arrow::Type::LARGE_STRING;
  const bool boolean = input.id() == arrow::Type::BOOL;
  switch (kind) {
    case AggregateKind::kSum:
    case AggregateKind::kAvg:
    case AggregateKind::kVariance:
    case AggregateKind::kVariancePop:
    case AggregateKind::kStddev:
    case AggregateKind::kStddevPop:
      if (integer) return arrow::int64();
      if (floating) return arrow::float64();
      return nullptr;
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      if (integer || temporal) return arrow::int64();
      if (floating) return arrow::float64();
      return nullptr;
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
    case AggregateKind::kCountDistinct:
      if (integer || temporal || boolean) return arrow::int64();
      if (floating) return arrow::float64();
      if (text) return arrow::utf8();
      return nullptr;
    default:
      return nullptr;
  }
}

std::shared_ptr<arrow::DataType> OutputTypeFor(const AggregateSpec& spec,
                                               const arrow::DataType* input,
                                               const arrow::DataType* consumed) {
  switch (spec.kind) {
    case AggregateKind::kCountAll:
    case AggregateKind::kCount:
    case AggregateKind::kCountDistinct:
      return arrow::int64();
    case AggregateKind::kSum:
      return consumed->GetSharedPtr();
    case AggregateKind::kMin:
    case AggregateKind::kMax:
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
      return input->GetSharedPtr();
    case AggregateKind::kUser:
      return spec.output_type;
    default:
      return arrow::float64();
  }
}

}  // namespace

AggregateSpec Count(std::string column) {
  return column.empty() ? Spec(AggregateKind::kCountAll, "", "count")
                        : Spec(AggregateKind::kCount, std::move(column), "count");
}
AggregateSpec Sum(std::string column) {
  return Spec(AggregateKind::kSum, std::move(column), "sum");
}
AggregateSpec Min(std::string column) {
  return Spec(AggregateKind::kMin, std::move(column), "min");
}
AggregateSpec Max(std::string column) {
  return Spec(AggregateKind::kMax, std::move(column), "max");
}
AggregateSpec Avg(std::string column) {
  return Spec(AggregateKind::kAvg, std::move(column), "avg");
}
AggregateSpec First(std::string column) {
  return Spec(AggregateKind::kFirst, std::move(column), "first");
}
AggregateSpec Last(std::string column) {
  return Spec(AggregateKind::kLast, std::move(column), "last");
}
AggregateSpec CountDistinct(std::string column) {
  return Spec(AggregateKind::kCountDistinct, std::move(column), "count_distinct");
}
AggregateSpec Variance(std::string column) {
  return Spec(AggregateKind::kVariance, std::move(column), "variance");
}
AggregateSpec VariancePop(std::string column) {
  return Spec(AggregateKind::kVariancePop, std::move(column), "variance_pop");
}
AggregateSpec Stddev(std::string column) {
  return Spec(AggregateKind::kStddev, std::move(column), "stddev");
}
AggregateSpec StddevPop(std::string column) {
  return Spec(AggregateKind::kStddevPop, std::move(column), "stddev_pop");
}

AggregateSpec UserAggregate(std::string output_name, std::string column,
                            std::shared_ptr<arrow::DataType> output_type,
                            AggregatorFactory factory) {
  AggregateSpec spec;
  spec.kind = AggregateKind::kUser;
  spec.column = std::move(column);
  spec.output_name = std::move(output_name);
  spec.output_type = std::move(output_type);
  spec.factory = std::move(factory);
  return spec;
}

Result<std::vector<ResolvedAggregate>> ResolveAggregates(
    const std::vector<AggregateSpec>& specs, const arrow::Schema& input_schema,
    const std::vector<std::string>& reserved) {
  if (specs.empty()) return Status::Invalid("Aggregate needs at least one aggregate");
  std::vector<std::string> names = reserved;
  std::vector<ResolvedAggregate> resolved;
  for (const AggregateSpec& spec : specs) {
    ResolvedAggregate aggregate;
    aggregate.spec = spec;
    if (spec.output_name.empty())
      return Status::Invalid("an aggregate has an empty output name; name it with .As()");
    if (std::find(names.begin(), names.end(), spec.output_name) != names.end()) {
      return Status::Invalid("output column '", spec.output_name,
                             "' appears twice; rename an aggregate with .As(\"name\")");
    }
    names.push_back(spec.output_name);
    const arrow::DataType* input_type = nullptr;
    if (spec.kind != AggregateKind::kCountAll) {
      aggregate.input = input_schema.GetFieldIndex(spec.column);
      if (aggregate.input < 0) {
        return Status::Invalid("aggregate ", spec.output_name, ": unknown column '",
                               spec.column, "' (the stream has ",
                               input_schema.ToString(/*show_metadata=*/false), ")");
      }
      input_type = input_schema.field(aggregate.input)->type().get();
    }
    switch (spec.kind) {
      case AggregateKind::kCountAll:
        break;
      case AggregateKind::kCount:
        aggregate.consumed_type = input_type->GetSharedPtr();
        break;
      case AggregateKind::kUser:
        if (!spec.factory || !spec.output_type) {
          return Status::Invalid("user aggregate '", spec.output_name,
                                 "' needs an output type and a factory");
        }
        aggregate.consumed_type = input_type->GetSharedPtr();
        break;
      default:
        aggregate.consumed_type = ConsumedTypeFor(spec.kind, *input_type);
        if (!aggregate.consumed_type) {
          return Status::TypeError("cannot aggregate column '", spec.column, "' of type ",
                                   input_type->ToString(), " with ", KindName(spec.kind),
                                   " (", spec.output_name,
                                   "); Cast it to a supported type or use Count");
        }
    }
    aggregate.output_field = arrow::field(
        spec.output_name, OutputTypeFor(spec, input_type, aggregate.consumed_type.get()));
    resolved.push_back(std::move(aggregate));
  }
  return resolved;
}

}  // namespace sabot
