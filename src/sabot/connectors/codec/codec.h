// Record codecs: how one message's bytes become Arrow rows and back. Used by the Kafka
// source and sink (and any message-oriented connector). A codec is chosen by CodecConfig;
// decoders and encoders are made per source/sink subtask and are not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"

namespace arrow {
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot {

enum class CodecKind {
  /// One JSON object per message (README.md: field matching and coercion rules).
  kJson,
  /// Avro binary in the Confluent wire format: byte 0 = 0, a big-endian uint32 schema
  /// id, then the Avro datum. Writer schemas come from a Schema Registry.
  kAvro,
  /// One MessagePack map per message, keys are the column names.
  kMessagePack,
  /// An Arrow IPC stream per message (schema, then any number of record batches);
  /// one message may hold many rows.
  kArrowIpc,
  /// The bytes as they are: one binary (or string, if the field is utf8) column.
  kRaw,
};

/// Returns "json", "avro", "msgpack", "arrow" or "raw".
const char* CodecName(CodecKind kind);
/// Parses a CodecName() (e.g. from a URL or the Python API).
Result<CodecKind> ParseCodecKind(std::string_view name);

struct CodecConfig {
  CodecKind kind = CodecKind::kJson;
  /// Avro: base URL of a Confluent-compatible Schema Registry (http://host:port).
  std::string schema_registry_url;
  /// Avro encoding: the subject the writer schema is registered under (default
  /// "<topic>-value" set by the sink).
  std::string subject;
};

/// Turns message payloads into rows of a fixed schema.
class Decoder {
 public:
  virtual ~Decoder() = default;

  /// Decodes one message and appends its rows (one for every codec but Arrow IPC,
  /// which may hold any number) to the batch being built. Returns the number of rows
  /// appended. On error nothing is appended and the status says what is wrong with the
  /// message (field name, expected type, byte offset where the codec knows it).
  virtual Result<int64_t> Append(std::string_view payload) = 0;

  /// Rows appended since the last Flush().
  virtual int64_t num_rows() const = 0;

  /// Returns the rows appended since the last Flush() as one batch of the decoder's
  /// schema, and starts a new batch.
  virtual Result<std::shared_ptr<arrow::RecordBatch>> Flush() = 0;
};

/// Messages encoded from a batch, contiguous in memory: message i is
/// data[offsets[i], offsets[i + 1]). Reused between batches so that encoding does not
/// allocate per row.
struct EncodedMessages {
  std::string data;
  std::vector<int64_t> offsets;

  int64_t size() const { return offsets.empty() ? 0 : int64_t(offsets.size()) - 1; }
  std::string_view message(int64_t i) const {
    return std::string_view(data).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  void Clear() {
    data.clear();
    offsets.assign(1, 0);
  }
};

/// Turns rows into message payloads.
class Encoder {
 public:
  virtual ~Encoder() = default;

  /// True when Encode() makes one message per row (every codec but Arrow IPC, which
  /// makes one message per batch); a sink keys and partitions per row only then.
  virtual bool one_message_per_row() const { return true; }

  /// Replaces `out` with the messages of `batch` (whose schema is the encoder's).
  virtual Status Encode(const arrow::RecordBatch& batch, EncodedMessages* out) = 0;
};

/// Makes a decoder producing rows of `schema`. Fails with a message naming the field
/// when the codec cannot produce one of its types.
Result<std::unique_ptr<Decoder>> MakeDecoder(const CodecConfig& config,
                                             std::shared_ptr<arrow::Schema> schema,
                                             int64_t batch_size);

/// Makes an encoder for rows of `schema`.
Result<std::unique_ptr<Encoder>> MakeEncoder(const CodecConfig& config,
                                             std::shared_ptr<arrow::Schema> schema);

}  // namespace sabot
