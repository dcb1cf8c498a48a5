#include "sabot/connectors/codec/codec.h"

#include "sabot/connectors/codec/codec_factories.h"

namespace sabot {

const char* CodecName(CodecKind kind) {
  switch (kind) {
    case CodecKind::kJson:
      return "json";
    case CodecKind::kAvro:
      return "avro";
    case CodecKind::kMessagePack:
      return "msgpack";
    case CodecKind::kArrowIpc:
      return "arrow";
    case CodecKind::kRaw:
      return "raw";
  }
  return "unknown";
}

Result<CodecKind> ParseCodecKind(std::string_view name) {
  for (CodecKind kind : {CodecKind::kJson, CodecKind::kAvro, CodecKind::kMessagePack,
                         CodecKind::kArrowIpc, CodecKind::kRaw}) {
    if (name == CodecName(kind)) return kind;
  }
  return Status::Invalid("unknown codec '", name,
                         "': use json, avro, msgpack, arrow or raw");
}

Result<std::unique_ptr<Decoder>> MakeDecoder(const CodecConfig& config,
                                             std::shared_ptr<arrow::Schema> schema,
                                             int64_t batch_size) {
  switch (config.kind) {
    case CodecKind::kJson:
      return MakeJsonDecoder(std::move(schema), batch_size);
    case CodecKind::kAvro:
      return MakeAvroDecoder(config, std::move(schema), batch_size);
    case CodecKind::kMessagePack:
      return MakeMessagePackDecoder(std::move(schema), batch_size);
    case CodecKind::kArrowIpc:
      return MakeArrowIpcDecoder(std::move(schema), batch_size);
    case CodecKind::kRaw:
      return MakeRawDecoder(std::move(schema), batch_size);
  }
  return Status::Invalid("unknown codec");
}

Result<std::unique_ptr<Encoder>> MakeEncoder(const CodecConfig& config,
                                             std::shared_ptr<arrow::Schema> schema) {
  switch (config.kind) {
    case CodecKind::kJson:
      return MakeJsonEncoder(std::move(schema));
    case CodecKind::kAvro:
      return MakeAvroEncoder(config, std::move(schema));
    case CodecKind::kMessagePack:
      return MakeMessagePackEncoder(std::move(schema));
    case CodecKind::kArrowIpc:
      return MakeArrowIpcEncoder(std::move(schema));
    case CodecKind::kRaw:
      return MakeRawEncoder(std::move(schema));
  }
  return Status::Invalid("unknown codec");
}

}  // namespace sabot
