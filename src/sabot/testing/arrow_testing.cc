#include "sabot/testing/arrow_testing.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

namespace sabot::testing {

std::shared_ptr<arrow::Array> ArrayFromJson(const std::shared_ptr<arrow::DataType>& type,
                                            std::string_view json) {
  auto array = arrow::json::ArrayFromJSONString(type, json);
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  return array.ok() ? *array : nullptr;
}

std::shared_ptr<arrow::RecordBatch> BatchFromJson(
    const std::shared_ptr<arrow::Schema>& schema, std::string_view json) {
  auto array = ArrayFromJson(arrow::struct_(schema->fields()), json);
  auto batch = arrow::RecordBatch::FromStructArray(array);
  EXPECT_TRUE(batch.ok()) << batch.status().ToString();
  return *batch;
}

std::string BytesOf(std::initializer_list<int> bytes) {
  std::string message;
  for (int byte : bytes) message.push_back(static_cast<char>(byte));
  return message;
}

}  // namespace sabot::testing
