// Kafka for the App layer (broker "kafka://"): per-stream readers, a producer, topic
// creation and end offsets. Calls that wait on the network release the GIL.
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arrow_interop.h"
#include "bindings.h"
#include "sabot/connectors/kafka/kafka_message_client.h"

namespace sabot::python {
namespace {

template <typename T>
T WithoutGil(const std::function<T()>& call) {
  nb::gil_scoped_release release;
  return call();
}

std::optional<std::string> OptionalBytes(nb::handle value) {
  if (value.is_none()) return std::nullopt;
  if (!nb::isinstance<nb::bytes>(value))
    throw nb::type_error("a key must be bytes or None");
  nb::bytes bytes = nb::borrow<nb::bytes>(value);
  return std::string(bytes.c_str(), bytes.size());
}

}  // namespace

void InitializeKafka(nb::module_& module) {
  nb::class_<KafkaMessageReader>(module, "KafkaMessageReader")
      .def_static(
          "make",
          [](std::string bootstrap, std::string topic, std::vector<int32_t> partitions,
             std::vector<int64_t> offsets, KafkaProperties properties) {
            auto reader = WithoutGil<Result<std::unique_ptr<KafkaMessageReader>>>([&] {
              return KafkaMessageReader::Make(bootstrap, topic, partitions, offsets,
                                              properties);
            });
            return ValueOrThrow(std::move(reader));
          },
          nb::arg("bootstrap"), nb::arg("topic"), nb::arg("partitions"),
          nb::arg("offsets"), nb::arg("properties") = KafkaProperties{})
      .def(
          "poll",
          [](KafkaMessageReader& reader, int64_t max_messages, double timeout_seconds) {
            using Runs =
                std::vector<std::pair<int32_t, std::shared_ptr<arrow::RecordBatch>>>;
            auto runs = ValueOrThrow(WithoutGil<Result<Runs>>([&] {
              return reader.Poll(max_messages,
                                 static_cast<int64_t>(timeout_seconds * 1000));
            }));
            nb::list out;
            for (auto& [partition, batch] : runs) {
              out.append(nb::make_tuple(partition, ToPyArrowBatch(batch)));
            }
            return out;
          },
          nb::arg("max_messages"), nb::arg("timeout_seconds"));

  nb::class_<KafkaDelivery>(module, "KafkaDelivery")
      .def_ro("partition", &KafkaDelivery::partition)
      .def_ro("offset", &KafkaDelivery::offset)
      .def_ro("error", &KafkaDelivery::error);

  nb::class_<KafkaMessageWriter>(module, "KafkaMessageWriter")
      .def_static(
          "make",
          [](std::string bootstrap, KafkaProperties properties) {
            return ValueOrThrow(KafkaMessageWriter::Make(bootstrap, properties));
          },
          nb::arg("bootstrap"), nb::arg("properties") = KafkaProperties{})
      .def(
          "produce",
          [](KafkaMessageWriter& writer, const std::string& topic, int32_t partition,
             nb::handle key, nb::bytes value, int64_t timestamp_ms) {
            return ValueOrThrow(writer.Produce(topic, partition, OptionalBytes(key),
                                               std::string(value.c_str(), value.size()),
                                               timestamp_ms));
          },
          nb::arg("topic"), nb::arg("partition"), nb::arg("key").none(), nb::arg("value"),
          nb::arg("timestamp_ms"))
      .def(
          "produce_many",
          [](KafkaMessageWriter& writer, const std::string& topic, int32_t partition,
             nb::list keys, nb::list values, std::vector<int64_t> timestamps) {
            // Views into the bytes objects, which the lists keep alive for the call.
            std::vector<std::optional<std::string_view>> key_views;
            std::vector<std::string_view> value_views;
            key_views.reserve(nb::len(keys));
            value_views.reserve(nb::len(values));
            for (nb::handle key : keys) {
              if (key.is_none()) {
                key_views.emplace_back(std::nullopt);
              } else {
                nb::bytes bytes = nb::cast<nb::bytes>(key);
                key_views.emplace_back(std::string_view(bytes.c_str(), bytes.size()));
              }
            }
            for (nb::handle value : values) {
              nb::bytes bytes = nb::cast<nb::bytes>(value);
              value_views.emplace_back(bytes.c_str(), bytes.size());
            }
            return ValueOrThrow(
                writer.ProduceMany(topic, partition, key_views, value_views, timestamps));
          },
          nb::arg("topic"), nb::arg("partition"), nb::arg("keys"), nb::arg("values"),
          nb::arg("timestamps"),
          "Queues messages to `partition` in one call (keys None or bytes, values bytes, "
          "timestamps in ms); returns the first message's delivery (None if there are "
          "none), complete after flush(), which also reports the others' errors.")
      .def(
          "delivery_error",
          [](KafkaMessageWriter& writer) -> std::optional<std::string> {
            Status status = writer.FirstError();
            if (status.ok()) return std::nullopt;
            return status.message();
          },
          "The error of the first message that was not delivered (None if none); once "
          "set, produce, produce_many and flush fail with it.")
      .def(
          "flush",
          [](KafkaMessageWriter& writer, double timeout_seconds) {
            ThrowIfError(WithoutGil<Status>([&] {
              return writer.Flush(static_cast<int64_t>(timeout_seconds * 1000));
            }));
          },
          nb::arg("timeout_seconds") = 30.0);

  module.def(
      "key_partition",
      [](nb::bytes key, int32_t partitions) {
        if (partitions < 1) throw nb::value_error("partitions must be positive");
        return KafkaKeyPartition(std::string_view(key.c_str(), key.size()), partitions);
      },
      nb::arg("key"), nb::arg("partitions"),
      "The partition of `key`: murmur2, as Kafka's Java producer chooses it.");
  module.def(
      "kafka_ensure_topic",
      [](std::string bootstrap, std::string topic, int32_t partitions,
         KafkaProperties properties) {
        ThrowIfError(WithoutGil<Status>(
            [&] { return KafkaEnsureTopic(bootstrap, topic, partitions, properties); }));
      },
      nb::arg("bootstrap"), nb::arg("topic"), nb::arg("partitions"),
      nb::arg("properties") = KafkaProperties{});
  module.def(
      "kafka_end_offsets",
      [](std::string bootstrap, std::string topic, KafkaProperties properties) {
        return ValueOrThrow(WithoutGil<Result<std::vector<int64_t>>>(
            [&] { return KafkaEndOffsets(bootstrap, topic, properties); }));
      },
      nb::arg("bootstrap"), nb::arg("topic"), nb::arg("properties") = KafkaProperties{});
}

}  // namespace sabot::python
