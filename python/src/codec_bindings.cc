// The engine's codecs for the Python App layer, each call with the GIL released during
// the C++ work:
// - AvroCodec (connectors/codec/avro_codec.h), the 'avro' serializer: decodes a list of
//   messages into one pyarrow RecordBatch and encodes a batch into one message per row.
//   Plain Avro binary with a fixed writer schema, or the Confluent wire format with a
//   schema id (known in advance, or registered in / fetched from a Schema Registry).
// - JsonCodec: decodes a list of JSON messages into one RecordBatch of a given schema,
//   for agents' stream.batches() on 'json' topics that declare a schema.
#include <arrow/array.h>
#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <arrow/type.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arrow_interop.h"
#include "bindings.h"
#include "sabot/connectors/codec/avro_codec.h"
#include "sabot/connectors/codec/avro_schema.h"
#include "sabot/connectors/codec/codec.h"
#include "sabot/connectors/codec/schema_registry.h"

namespace sabot::python {
namespace {

constexpr const char* kSupportedTypes =
    "boolean, int, long, float, double, string, bytes, fixed, enum, the date and "
    "timestamp-millis/micros/nanos logical types, and unions of one of them with null";

// The Arrow type a column of Avro type `type` is read into, or NotImplemented.
Result<std::shared_ptr<arrow::DataType>> ArrowTypeOf(const AvroSchema& type,
                                                     const std::string& field) {
  switch (type.type) {
    case AvroType::kBoolean:
      return arrow::boolean();
    case AvroType::kInt:
      if (type.logical_type == AvroLogicalType::kDate) return arrow::date32();
      return arrow::int32();
    case AvroType::kLong:
      switch (type.logical_type) {
        case AvroLogicalType::kTimestampMillis:
          return arrow::timestamp(arrow::TimeUnit::MILLI, "UTC");
        case AvroLogicalType::kTimestampMicros:
          return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
        case AvroLogicalType::kTimestampNanos:
          return arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
        default:
          return arrow::int64();
      }
    case AvroType::kFloat:
      return arrow::float32();
    case AvroType::kDouble:
      return arrow::float64();
    case AvroType::kString:
    case AvroType::kEnum:
      return arrow::utf8();
    case AvroType::kBytes:
    case AvroType::kFixed:
      return arrow::binary();
    default:
      return Status::NotImplemented(
          "avro: field '", field, "' is ", type.ToString(),
          ": the Avro codec reads records of flat fields (", kSupportedTypes,
          "); pass a pyarrow schema of the columns to read to leave it out");
  }
}

// The columns an Avro record schema is read into: one per field, nullable for unions
// with null.
Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFromAvro(const AvroSchema& record) {
  if (record.type != AvroType::kRecord) {
    return Status::NotImplemented("avro: the schema is ", record.ToString(),
                                  "; only record schemas can be read into columns");
  }
  arrow::FieldVector fields;
  for (const AvroField& field : record.fields) {
    const AvroSchema* type = field.type.get();
    bool nullable = false;
    if (type->type == AvroType::kUnion) {
      const AvroSchema* value = nullptr;
      int values = 0;
      for (const auto& branch : type->branches) {
        if (branch->type == AvroType::kNull) {
          nullable = true;
        } else {
          value = branch.get();
          ++values;
        }
      }
      if (values != 1) {
        return Status::NotImplemented("avro: field '", field.name, "' is ",
                                      type->ToString(), ": the Avro codec reads ",
                                      kSupportedTypes);
      }
      type = value;
    }
    ARROW_ASSIGN_OR_RAISE(auto arrow_type, ArrowTypeOf(*type, field.name));
    fields.push_back(arrow::field(field.name, std::move(arrow_type), nullable));
  }
  return arrow::schema(std::move(fields));
}

// Keeps the payloads of one decode() call: views into Python bytes objects (kept
// alive by the list the caller passed), into an imported Arrow array, or into copies.
struct Payloads {
  // References to the bytes objects viewed, in case the list changes meanwhile.
  std::vector<nb::object> owners;
  std::vector<std::string_view> views;
  std::vector<bool> nulls;
  std::shared_ptr<arrow::Array> array;
  std::deque<std::string> copies;
};

Payloads PayloadsFromArrow(nb::handle object, const char* caller) {
  nb::object capsules = object.attr("__arrow_c_array__")();
  if (!nb::isinstance<nb::tuple>(capsules) || nb::len(capsules) != 2) {
    throw nb::type_error("__arrow_c_array__ must return (schema, array) capsules");
  }
  nb::tuple pair = nb::borrow<nb::tuple>(capsules);
  auto* c_schema =
      static_cast<ArrowSchema*>(PyCapsule_GetPointer(pair[0].ptr(), "arrow_schema"));
  if (c_schema == nullptr) throw nb::python_error();
  auto* c_array =
      static_cast<ArrowArray*>(PyCapsule_GetPointer(pair[1].ptr(), "arrow_array"));
  if (c_array == nullptr) throw nb::python_error();
  Payloads payloads;
  payloads.array = ValueOrThrow(arrow::ImportArray(c_array, c_schema));
  const arrow::Array& array = *payloads.array;
  const auto collect = [&](const auto& typed) {
    payloads.views.reserve(typed.length());
    for (int64_t i = 0; i < typed.length(); ++i) {
      payloads.nulls.push_back(typed.IsNull(i));
      payloads.views.push_back(typed.GetView(i));
    }
  };
  switch (array.type_id()) {
    case arrow::Type::BINARY:
      collect(static_cast<const arrow::BinaryArray&>(array));
      break;
    case arrow::Type::LARGE_BINARY:
      collect(static_cast<const arrow::LargeBinaryArray&>(array));
      break;
    case arrow::Type::STRING:
      collect(static_cast<const arrow::StringArray&>(array));
      break;
    case arrow::Type::LARGE_STRING:
      collect(static_cast<const arrow::LargeStringArray&>(array));
      break;
    default: {
      std::string error = caller;
      error += " takes a binary array or a list of bytes, got an array of ";
      error += array.type()->ToString();
      throw nb::type_error(error.c_str());
    }
  }
  return payloads;
}

Payloads PayloadsFromSequence(nb::handle messages, const char* caller) {
  Payloads payloads;
  for (nb::handle message : messages) {
    if (message.is_none()) {
      payloads.nulls.push_back(true);
      payloads.views.emplace_back();
      continue;
    }
    payloads.nulls.push_back(false);
    if (PyBytes_Check(message.ptr())) {
      payloads.owners.push_back(nb::borrow(message));
      payloads.views.emplace_back(PyBytes_AS_STRING(message.ptr()),
                                  PyBytes_GET_SIZE(message.ptr()));
      continue;
    }
    Py_buffer buffer;
    if (PyObject_GetBuffer(message.ptr(), &buffer, PyBUF_C_CONTIGUOUS) != 0) {
      PyErr_Clear();
      std::string error = caller;
      error += ": message ";
      error += std::to_string(payloads.views.size());
      error += " is ";
      error += nb::type_name(message.type()).c_str();
      error += ", not bytes";
      throw nb::type_error(error.c_str());
    }
    payloads.copies.emplace_back(static_cast<const char*>(buffer.buf),
                                 static_cast<size_t>(buffer.len));
    PyBuffer_Release(&buffer);
    payloads.views.emplace_back(payloads.copies.back());
  }
  return payloads;
}

// The rows of the payloads before the first that does not decode, and that message's
// index (-1 when every message decoded) and error.
struct DecodedPrefix {
  std::shared_ptr<arrow::RecordBatch> batch;
  int64_t failed = -1;
  Status error;
};

// Decodes the payloads into `decoder` up to the first that fails (a failed message
// appends nothing), and returns the rows before it as one batch.
Result<DecodedPrefix> DecodePrefix(Decoder* decoder, const Payloads& payloads,
                                   const char* codec) {
  DecodedPrefix result;
  for (size_t i = 0; i < payloads.views.size(); ++i) {
    Status status = payloads.nulls[i]
                        ? Status::Invalid(codec, ": the message is null (no value)")
                        : decoder->Append(payloads.views[i]).status();
    if (!status.ok()) {
      result.failed = static_cast<int64_t>(i);
      // Each error names the codec once: the Avro codec's own messages already do.
      const std::string_view prefix = codec;
      result.error = status.message().compare(0, prefix.size(), prefix) == 0
                         ? status
                         : status.WithMessage(codec, ": ", status.message());
      break;
    }
  }
  ARROW_ASSIGN_OR_RAISE(result.batch, decoder->Flush());
  return result;
}

// Decodes every payload and returns the rows as one batch. An error names the
// message's index; the rows of the messages before it are dropped.
Result<std::shared_ptr<arrow::RecordBatch>> DecodeAll(Decoder* decoder,
                                                      const Payloads& payloads,
                                                      const char* codec) {
  ARROW_ASSIGN_OR_RAISE(DecodedPrefix prefix, DecodePrefix(decoder, payloads, codec));
  if (prefix.failed >= 0) {
    return prefix.error.WithMessage("message ", prefix.failed, ": ",
                                    prefix.error.message());
  }
  return prefix.batch;
}

// `caller` names the method in errors ("AvroCodec.decode").
Payloads PayloadsOf(nb::handle messages, const char* caller) {
  return nb::hasattr(messages, "__arrow_c_array__")
             ? PayloadsFromArrow(messages, caller)
             : PayloadsFromSequence(messages, caller);
}

// A codec's decode(messages): the payloads are gathered with the GIL, decoded without
// it under the decoder's mutex, and returned as a pyarrow RecordBatch.
nb::object DecodeToPyArrow(Decoder* decoder, std::mutex* mutex, nb::handle messages,
                           const char* caller, const char* codec) {
  Payloads payloads = PayloadsOf(messages, caller);
  Result<std::shared_ptr<arrow::RecordBatch>> batch;
  {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(*mutex);
    batch = DecodeAll(decoder, payloads, codec);
  }
  return ToPyArrowBatch(ValueOrThrow(std::move(batch)));
}

// A codec's decode_prefix(messages): (batch, None) when every message decoded, else
// (the batch of the messages before the first that failed, (its index, its error)).
nb::object DecodePrefixToPyArrow(Decoder* decoder, std::mutex* mutex, nb::handle messages,
                                 const char* caller, const char* codec) {
  Payloads payloads = PayloadsOf(messages, caller);
  Result<DecodedPrefix> result;
  {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(*mutex);
    result = DecodePrefix(decoder, payloads, codec);
  }
  DecodedPrefix prefix = ValueOrThrow(std::move(result));
  nb::object batch = ToPyArrowBatch(prefix.batch);
  if (prefix.failed < 0) return nb::make_tuple(batch, nb::none());
  return nb::make_tuple(batch, nb::make_tuple(prefix.failed, prefix.error.message()));
}

class AvroCodec {
 public:
  AvroCodec(nb::object schema, std::optional<std::string> writer_schema,
            std::optional<std::string> registry_url, std::optional<int64_t> schema_id,
            std::optional<std::string> subject) {
    if (schema_id && (*schema_id < 0 || *schema_id > INT32_MAX)) {
      throw nb::value_error("avro: schema_id must be between 0 and 2^31 - 1");
    }
    options_.framing =
        registry_url || schema_id ? AvroFraming::kConfluent : AvroFraming::kPlain;
    options_.schema_registry_url = registry_url.value_or("");
    options_.subject = subject.value_or("");
    if (schema_id) options_.schema_id = static_cast<int32_t>(*schema_id);
    std::string writer = writer_schema.value_or("");

    if (nb::isinstance<nb::str>(schema) || nb::isinstance<nb::dict>(schema)) {
      if (writer_schema) {
        throw nb::type_error(
            "avro: pass the Avro schema as `schema` or as `writer_schema`, not both");
      }
      writer =
          nb::isinstance<nb::str>(schema)
              ? nb::cast<std::string>(schema)
              : nb::cast<std::string>(nb::module_::import_("json").attr("dumps")(schema));
    } else if (!schema.is_none()) {
      schema_ = ValueOrThrow(ImportSchema(schema));
    } else if (registry_url && !writer_schema) {
      // The columns are those of the latest writer schema under `subject`.
      if (!subject) {
        throw nb::value_error(
            "avro: without a schema, the codec reads the latest schema of `subject` from "
            "the registry: pass subject= (e.g. '<topic>-value')");
      }
      Result<std::pair<int32_t, std::string>> latest;
      {
        nb::gil_scoped_release release;
        auto client = SchemaRegistryClient::Make(*registry_url);
        latest = client.ok() ? (*client)->GetLatest(*subject)
                             : Result<std::pair<int32_t, std::string>>(client.status());
      }
      auto [id, json] = ValueOrThrow(std::move(latest));
      writer = std::move(json);
      if (!options_.schema_id) options_.schema_id = id;
    } else if (!writer_schema) {
      throw nb::value_error(
          "avro: the codec needs a schema: a pyarrow schema or an Avro record schema "
          "(JSON text or dict), or a registry_url and subject to read the latest one "
          "from");
    }

    if (!writer.empty()) {
      auto parsed = ValueOrThrow(ParseAvroSchema(writer));
      if (schema_ == nullptr) schema_ = ValueOrThrow(ArrowSchemaFromAvro(*parsed));
    } else {
      writer = ValueOrThrow(AvroSchemaFromArrow(*schema_));
    }
    writer_schema_ = writer;
    options_.writer_schema = writer;

    // The decoder knows the writer schema without a registry in plain framing, and
    // for its id in the Confluent framing; otherwise it fetches schemas by id.
    AvroCodecOptions decoding = options_;
    if (decoding.framing == AvroFraming::kConfluent && !decoding.schema_id) {
      decoding.writer_schema.clear();
    }
    decoder_ = ValueOrThrow(MakeAvroDecoder(decoding, schema_, 1024));
  }

  nb::object Decode(nb::handle messages) {
    return DecodeToPyArrow(decoder_.get(), &decoder_mutex_, messages, "AvroCodec.decode",
                           "avro");
  }

  nb::object DecodePrefix(nb::handle messages) {
    return DecodePrefixToPyArrow(decoder_.get(), &decoder_mutex_, messages,
                                 "AvroCodec.decode_prefix", "avro");
  }

  nb::list Encode(nb::handle rows) {
    std::shared_ptr<arrow::RecordBatch> batch = ValueOrThrow(ImportBatch(rows));
    if (!batch->schema()->Equals(*schema_, /*check_metadata=*/false)) {
      std::string error = "avro: encode: the batch's schema (";
      error += batch->schema()->ToString();
      error += ") is not the codec's (";
      error += schema_->ToString();
      error += ")";
      throw nb::value_error(error.c_str());
    }
    EncodedMessages encoded;
    Status status;
    {
      // The lock is taken without the GIL: a thread waiting for it must not hold the
      // GIL that the thread holding it needs back.
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(encoder_mutex_);
      status = EncodeLocked(*batch, &encoded);
    }
    ThrowIfError(status);
    nb::list messages;
    for (int64_t i = 0; i < encoded.size(); ++i) {
      const std::string_view message = encoded.message(i);
      messages.append(nb::bytes(message.data(), message.size()));
    }
    return messages;
  }

  nb::object schema() const { return ToPyArrowSchema(schema_); }
  const std::string& writer_schema() const { return writer_schema_; }
  std::optional<int32_t> schema_id() const { return options_.schema_id; }
  const char* framing() const {
    return options_.framing == AvroFraming::kPlain ? "plain" : "confluent";
  }

 private:
  // The encoder is made at the first encode(): a codec that only decodes works with
  // writer schemas the encoder cannot write (enums, fixed, other union orders).
  Status EncodeLocked(const arrow::RecordBatch& batch, EncodedMessages* out) {
    if (encoder_ == nullptr) {
      ARROW_ASSIGN_OR_RAISE(encoder_, MakeAvroEncoder(options_, schema_));
    }
    return encoder_->Encode(batch, out);
  }

  AvroCodecOptions options_;
  std::shared_ptr<arrow::Schema> schema_;
  std::string writer_schema_;
  std::mutex decoder_mutex_;
  std::unique_ptr<Decoder> decoder_;
  std::mutex encoder_mutex_;
  std::unique_ptr<Encoder> encoder_;
};

// The engine's JSON codec over whole polls: the rules of the Kafka source's JSON
// decoding (src/sabot/connectors/codec/README.md) turn each message into one row of
// `schema`.
class JsonCodec {
 public:
  explicit JsonCodec(nb::handle schema) : schema_(ValueOrThrow(ImportSchema(schema))) {
    CodecConfig config;
    config.kind = CodecKind::kJson;
    decoder_ = ValueOrThrow(MakeDecoder(config, schema_, 1024));
  }

  nb::object Decode(nb::handle messages) {
    return DecodeToPyArrow(decoder_.get(), &mutex_, messages, "JsonCodec.decode", "json");
  }

  nb::object DecodePrefix(nb::handle messages) {
    return DecodePrefixToPyArrow(decoder_.get(), &mutex_, messages,
                                 "JsonCodec.decode_prefix", "json");
  }

  nb::object schema() const { return ToPyArrowSchema(schema_); }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::mutex mutex_;
  std::unique_ptr<Decoder> decoder_;
};

}  // namespace

constexpr const char* kDecodePrefixDoc =
    "Decodes messages up to the first that fails: (batch, None) when all decode, else "
    "(the batch of the messages before it, (its index, its error)).";

void InitializeCodecs(nb::module_& module) {
  nb::class_<JsonCodec>(
      module, "JsonCodec",
      "The engine's JSON codec: decode(messages) -> pyarrow.RecordBatch "
      "of the schema, one row per message.")
      .def(nb::init<nb::handle>(), nb::arg("schema"),
           "schema: the pyarrow schema of the rows (fields by name; dotted names read "
           "nested members).")
      .def("decode", &JsonCodec::Decode, nb::arg("messages"),
           "Decodes a list of bytes (or a pyarrow binary array) into one RecordBatch; "
           "errors name the message index, and the field when a value does not convert.")
      .def("decode_prefix", &JsonCodec::DecodePrefix, nb::arg("messages"),
           kDecodePrefixDoc)
      .def_prop_ro("schema", &JsonCodec::schema);

  nb::class_<AvroCodec>(
      module, "AvroCodec",
      "The engine's Avro codec: decode(messages) -> pyarrow.RecordBatch, "
      "encode(batch) -> list[bytes].")
      .def(
          nb::init<nb::object, std::optional<std::string>, std::optional<std::string>,
                   std::optional<int64_t>, std::optional<std::string>>(),
          nb::arg("schema").none() = nb::none(),
          nb::arg("writer_schema").none() = nb::none(),
          nb::arg("registry_url").none() = nb::none(),
          nb::arg("schema_id").none() = nb::none(),
          nb::arg("subject").none() = nb::none(),
          "schema: a pyarrow schema (the columns) or an Avro record schema (JSON text or "
          "dict). Without registry_url and schema_id, messages are plain Avro binary; "
          "with either, the Confluent wire format.")
      .def("decode", &AvroCodec::Decode, nb::arg("messages"),
           "Decodes a list of bytes (or a pyarrow binary array) into one RecordBatch; "
           "errors name the message index and the field.")
      .def("decode_prefix", &AvroCodec::DecodePrefix, nb::arg("messages"),
           kDecodePrefixDoc)
      .def("encode", &AvroCodec::Encode, nb::arg("batch"),
           "Encodes a RecordBatch of the codec's schema: one message per row.")
      .def_prop_ro("schema", &AvroCodec::schema)
      .def_prop_ro("writer_schema", &AvroCodec::writer_schema)
      .def_prop_ro("schema_id", &AvroCodec::schema_id)
      .def_prop_ro("framing", &AvroCodec::framing);
}

}  // namespace sabot::python
