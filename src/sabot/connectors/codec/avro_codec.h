// The Avro codec with every option: besides the registry-backed Confluent wire format
// that CodecConfig selects (codec_factories.h), plain Avro binary with one writer schema
// known to both sides, and the Confluent wire format with a schema id known without a
// registry. The Python App layer's 'avro' serializer uses these (python/src/
// codec_bindings.cc); README.md, "Avro and the Schema Registry", has the rules.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "sabot/common/status.h"
#include "sabot/connectors/codec/codec.h"

namespace arrow {
class Schema;
}  // namespace arrow

namespace sabot {

enum class AvroFraming {
  /// Byte 0 is 0, bytes 1-4 the big-endian id of the writer schema, then the datum.
  kConfluent,
  /// The datum alone (what Avro libraries call schemaless or single-datum binary):
  /// every message is written in the one writer schema both sides know.
  kPlain,
};

struct AvroCodecOptions {
  AvroFraming framing = AvroFraming::kConfluent;
  /// The JSON of a writer schema known without a registry. Decoding: the schema of
  /// every message (plain framing, where it is required) or of the messages whose
  /// header has `schema_id` (Confluent framing). Encoding: the schema messages are
  /// written in, which must be the one AvroSchemaFromArrow derives from the rows'
  /// schema up to record names, namespaces, docs and defaults (the error names the
  /// first field that differs); empty: the derived schema.
  std::string writer_schema;
  /// Confluent framing: the id of `writer_schema`. The decoder reads messages with
  /// this id without a registry; the encoder writes it without registering.
  std::optional<int32_t> schema_id;
  /// Confluent framing: the registry (http://host[:port][/prefix]) the decoder fetches
  /// the writer schemas of other ids from, and the encoder registers its schema in
  /// (under `subject`, at the first batch) when it has no `schema_id`.
  std::string schema_registry_url;
  std::string subject;
};

/// Makes an Avro decoder producing rows of `schema`. Fails when a writer schema given
/// in `options` has a field that cannot be read into its column, naming both.
Result<std::unique_ptr<Decoder>> MakeAvroDecoder(const AvroCodecOptions& options,
                                                 std::shared_ptr<arrow::Schema> schema,
                                                 int64_t batch_size);

/// Makes an Avro encoder for rows of `schema`.
Result<std::unique_ptr<Encoder>> MakeAvroEncoder(const AvroCodecOptions& options,
                                                 std::shared_ptr<arrow::Schema> schema);

}  // namespace sabot
