// Conversions between a column's own type and the type an aggregator consumes: narrower
// integers and booleans widen to int64, floats to double, large strings to utf8, and
// temporal types are read as their int64 value (results convert back).
#pragma once

#include <memory>

#include "sabot/common/status.h"

namespace arrow {
class Array;
struct ArrayData;
class DataType;
}  // namespace arrow

namespace sabot {

/// True for timestamp, date, time and duration types.
bool IsTemporalType(const arrow::DataType& type);

/// Returns `column` as `consumed_type` (zero-copy when only the type label changes).
Result<std::shared_ptr<arrow::ArrayData>> ToConsumedType(
    const std::shared_ptr<arrow::ArrayData>& column,
    const std::shared_ptr<arrow::DataType>& consumed_type);

/// Converts an aggregator's result back to the declared output type.
Result<std::shared_ptr<arrow::Array>> ToOutputType(
    const std::shared_ptr<arrow::Array>& result,
    const std::shared_ptr<arrow::DataType>& output_type);

}  // namespace sabot
