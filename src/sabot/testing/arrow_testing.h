// Small builders of Arrow test data from JSON text (the Arrow testing library is not
// part of the pyarrow wheel; arrow/json/from_string.h is).
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace arrow {
class Array;
class DataType;
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot::testing {

/// Returns the array that `json` (e.g. "[1, null, 3]") describes; fails the test on a
/// malformed literal.
std::shared_ptr<arrow::Array> ArrayFromJson(const std::shared_ptr<arrow::DataType>& type,
                                            std::string_view json);

/// Returns a batch from a JSON list of row objects, e.g. R"([{"a": 1}, {"a": 2}])".
std::shared_ptr<arrow::RecordBatch> BatchFromJson(
    const std::shared_ptr<arrow::Schema>& schema, std::string_view json);

/// Returns a binary message written out byte by byte, e.g. BytesOf({0x82, 0xa1, 'a'}).
std::string BytesOf(std::initializer_list<int> bytes);

}  // namespace sabot::testing
