#include "sabot/operators/aggregate/consumed_column.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

namespace sabot {
namespace {

// Integer type with the same width as a temporal type.
std::shared_ptr<arrow::DataType> PhysicalInteger(const arrow::DataType& type) {
  return arrow::bit_width(type.id()) == 32 ? arrow::int32() : arrow::int64();
}

std::shared_ptr<arrow::ArrayData> Relabel(const std::shared_ptr<arrow::ArrayData>& data,
                                          std::shared_ptr<arrow::DataType> type) {
  auto copy = data->Copy();
  copy->type = std::move(type);
  return copy;
}

}  // namespace

bool IsTemporalType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::TIMESTAMP:
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
    case arrow::Type::TIME32:
    case arrow::Type::TIME64:
    case arrow::Type::DURATION:
      return true;
    default:
      return false;
  }
}

Result<std::shared_ptr<arrow::ArrayData>> ToConsumedType(
    const std::shared_ptr<arrow::ArrayData>& column,
    const std::shared_ptr<arrow::DataType>& consumed_type) {
  if (column->type->Equals(*consumed_type)) return column;
  std::shared_ptr<arrow::ArrayData> source = column;
  if (IsTemporalType(*column->type)) {
    source = Relabel(column, PhysicalInteger(*column->type));
    if (source->type->Equals(*consumed_type)) return source;
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum cast,
                        arrow::compute::Cast(arrow::Datum(source), consumed_type));
  return cast.array();
}

Result<std::shared_ptr<arrow::Array>> ToOutputType(
    const std::shared_ptr<arrow::Array>& result,
    const std::shared_ptr<arrow::DataType>& output_type) {
  if (result->type()->Equals(*output_type)) return result;
  if (IsTemporalType(*output_type)) {
    auto physical = PhysicalInteger(*output_type);
    std::shared_ptr<arrow::Array> integers = result;
    if (!result->type()->Equals(*physical)) {
      ARROW_ASSIGN_OR_RAISE(integers, arrow::compute::Cast(*result, physical));
    }
    return arrow::MakeArray(Relabel(integers->data(), output_type));
  }
  return arrow::compute::Cast(*result, output_type);
}

}  // namespace sabot
