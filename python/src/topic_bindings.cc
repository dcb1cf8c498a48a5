// In-process topics (broker "memory://") for the App layer: sends append messages,
// agents read batches of them by offset. Blocking calls release the GIL.
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <string>
#include <vector>

#include "arrow_interop.h"
#include "bindings.h"
#include "sabot/connectors/memory/memory_topic.h"

namespace sabot::python {
namespace {

std::string BytesOf(nb::handle value, const char* what) {
  if (nb::isinstance<nb::bytes>(value)) {
    nb::bytes bytes = nb::borrow<nb::bytes>(value);
    return std::string(bytes.c_str(), bytes.size());
  }
  throw nb::type_error((std::string(what) + " must be bytes after serialization, got " +
                        nb::type_name(value.type()).c_str())
                           .c_str());
}

// Appends values[i] with keys[i] (None: no key) and timestamps[i].
int64_t Append(MemoryTopic& topic, int32_t partition, nb::list keys, nb::list values,
               std::vector<int64_t> timestamps) {
  const size_t count = nb::len(values);
  if (nb::len(keys) != count || timestamps.size() != count) {
    throw nb::value_error("keys, values and timestamps must have the same length");
  }
  std::vector<MemoryMessage> messages(count);
  for (size_t i = 0; i < count; ++i) {
    if (!keys[i].is_none()) messages[i].key = BytesOf(keys[i], "a key");
    messages[i].value = BytesOf(values[i], "a value");
    messages[i].timestamp_ms = timestamps[i];
  }
  Result<int64_t> first;
  {
    nb::gil_scoped_release release;
    first = topic.Append(partition, std::move(messages));
  }
  return ValueOrThrow(std::move(first));
}

}  // namespace

void InitializeTopics(nb::module_& module) {
  nb::class_<MemoryTopic>(module, "MemoryTopic")
      .def_static(
          "make",
          [](std::string name, int32_t partitions) {
            return ValueOrThrow(MemoryTopic::Make(std::move(name), partitions));
          },
          nb::arg("name"), nb::arg("partitions"))
      .def_prop_ro("name", &MemoryTopic::name)
      .def_prop_ro("partitions", &MemoryTopic::num_partitions)
      .def("append", &Append, nb::arg("partition"), nb::arg("keys"), nb::arg("values"),
           nb::arg("timestamps"))
      .def(
          "read",
          [](const MemoryTopic& topic, int32_t partition, int64_t offset,
             int64_t max_messages) {
            Result<std::shared_ptr<arrow::RecordBatch>> batch;
            {
              nb::gil_scoped_release release;
              batch = topic.Read(partition, offset, max_messages);
            }
            return ToPyArrowBatch(ValueOrThrow(std::move(batch)));
          },
          nb::arg("partition"), nb::arg("offset"), nb::arg("max_messages"))
      .def(
          "end_offset",
          [](const MemoryTopic& topic, int32_t partition) {
            return ValueOrThrow(topic.EndOffset(partition));
          },
          nb::arg("partition"))
      .def(
          "wait_for_data",
          [](const MemoryTopic& topic, std::vector<int32_t> partitions,
             std::vector<int64_t> positions, double timeout_seconds) {
            nb::gil_scoped_release release;
            return topic.WaitForData(partitions, positions,
                                     static_cast<int64_t>(timeout_seconds * 1000));
          },
          nb::arg("partitions"), nb::arg("positions"), nb::arg("timeout_seconds"))
      .def("wake", &MemoryTopic::Wake);
}

}  // namespace sabot::python
