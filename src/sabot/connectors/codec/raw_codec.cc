// The raw codec: a message's bytes are the value of the schema's single column (binary
// or string), unchanged in both directions.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/utf8.h>

#include "sabot/connectors/codec/codec_factories.h"

namespace sabot {
namespace {

Status CheckRawSchema(const arrow::Schema& schema) {
  if (schema.num_fields() == 1) {
    switch (schema.field(0)->type()->id()) {
      case arrow::Type::BINARY:
      case arrow::Type::STRING:
      case arrow::Type::LARGE_BINARY:
      case arrow::Type::LARGE_STRING:
        return Status::OK();
      default:
        break;
    }
  }
  return Status::Invalid(
      "the raw codec needs a schema of exactly one binary or string column, got ",
      schema.ToString());
}

template <typename BuilderType>
class RawDecoder : public Decoder {
 public:
  RawDecoder(std::shared_ptr<arrow::Schema> schema, bool utf8)
      : schema_(std::move(schema)), utf8_(utf8) {
    // ValidateUTF8 reads tables this fills (once per process).
    arrow::util::InitializeUTF8();
  }

  Result<int64_t> Append(std::string_view payload) override {
    if (utf8_ && !arrow::util::ValidateUTF8(payload)) {
      return Status::Invalid("field '", schema_->field(0)->name(),
                             "': the message is not valid UTF-8");
    }
    ARROW_RETURN_NOT_OK(builder_.Append(payload));
    return 1;
  }

  int64_t num_rows() const override { return builder_.length(); }

  Result<std::shared_ptr<arrow::RecordBatch>> Flush() override {
    const int64_t rows = builder_.length();
    std::shared_ptr<arrow::Array> column;
    ARROW_RETURN_NOT_OK(builder_.Finish(&column));
    return arrow::RecordBatch::Make(schema_, rows, {std::move(column)});
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  bool utf8_;
  BuilderType builder_;
};

template <typename ArrayType>
Status EncodeRaw(const arrow::Array& column, const std::string& name,
                 EncodedMessages* out) {
  const auto& values = static_cast<const ArrayType&>(column);
  out->Clear();
  out->offsets.reserve(values.length() + 1);
  out->data.reserve(values.total_values_length());
  for (int64_t row = 0; row < values.length(); ++row) {
    // Kafka would read an empty payload back as an empty value, not as null, so a null
    // cannot round-trip and is an error rather than a silent change.
    if (values.IsNull(row)) {
      return Status::Invalid("the raw codec cannot encode the null in field '", name,
                             "' at row ", row);
    }
    out->data.append(values.GetView(row));
    out->offsets.push_back(static_cast<int64_t>(out->data.size()));
  }
  return Status::OK();
}

class RawEncoder : public Encoder {
 public:
  Status Encode(const arrow::RecordBatch& batch, EncodedMessages* out) override {
    const arrow::Array& column = *batch.column(0);
    const std::string& name = batch.schema()->field(0)->name();
    switch (column.type_id()) {
      case arrow::Type::BINARY:
      case arrow::Type::STRING:
        return EncodeRaw<arrow::BinaryArray>(column, name, out);
      default:
        return EncodeRaw<arrow::LargeBinaryArray>(column, name, out);
    }
  }
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeRawDecoder(std::shared_ptr<arrow::Schema> schema,
                                                int64_t batch_size) {
  ARROW_RETURN_NOT_OK(CheckRawSchema(*schema));
  switch (schema->field(0)->type()->id()) {
    case arrow::Type::BINARY:
      return std::make_unique<RawDecoder<arrow::BinaryBuilder>>(schema, false);
    case arrow::Type::STRING:
      return std::make_unique<RawDecoder<arrow::StringBuilder>>(schema, true);
    case arrow::Type::LARGE_BINARY:
      return std::make_unique<RawDecoder<arrow::LargeBinaryBuilder>>(schema, false);
    default:
      return std::make_unique<RawDecoder<arrow::LargeStringBuilder>>(schema, true);
  }
}

Result<std::unique_ptr<Encoder>> MakeRawEncoder(std::shared_ptr<arrow::Schema> schema) {
  ARROW_RETURN_NOT_OK(CheckRawSchema(*schema));
  return std::make_unique<RawEncoder>();
}

}  // namespace sabot
