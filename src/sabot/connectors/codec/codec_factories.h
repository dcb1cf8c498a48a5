// The factories behind MakeDecoder / MakeEncoder, one pair per codec, each in the codec's
// own file. codec.cc dispatches to them on CodecKind.
#pragma once

#include <cstdint>
#include <memory>

#include "sabot/common/status.h"
#include "sabot/connectors/codec/codec.h"

namespace arrow {
class Schema;
}  // namespace arrow

namespace sabot {

Result<std::unique_ptr<Decoder>> MakeJsonDecoder(std::shared_ptr<arrow::Schema> schema,
                                                 int64_t batch_size);
Result<std::unique_ptr<Encoder>> MakeJsonEncoder(std::shared_ptr<arrow::Schema> schema);

Result<std::unique_ptr<Decoder>> MakeRawDecoder(std::shared_ptr<arrow::Schema> schema,
                                                int64_t batch_size);
Result<std::unique_ptr<Encoder>> MakeRawEncoder(std::shared_ptr<arrow::Schema> schema);

Result<std::unique_ptr<Decoder>> MakeMessagePackDecoder(
    std::shared_ptr<arrow::Schema> schema, int64_t batch_size);
Result<std::unique_ptr<Encoder>> MakeMessagePackEncoder(
    std::shared_ptr<arrow::Schema> schema);

Result<std::unique_ptr<Decoder>> MakeArrowIpcDecoder(
    std::shared_ptr<arrow::Schema> schema, int64_t batch_size);
Result<std::unique_ptr<Encoder>> MakeArrowIpcEncoder(
    std::shared_ptr<arrow::Schema> schema);

/// Fails when config.schema_registry_url is empty or not an http:// URL.
Result<std::unique_ptr<Decoder>> MakeAvroDecoder(const CodecConfig& config,
                                                 std::shared_ptr<arrow::Schema> schema,
                                                 int64_t batch_size);
/// Fails when config.schema_registry_url or config.subject is empty.
Result<std::unique_ptr<Encoder>> MakeAvroEncoder(const CodecConfig& config,
                                                 std::shared_ptr<arrow::Schema> schema);

}  // namespace sabot
