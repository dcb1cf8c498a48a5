// The dataflow API's engine side: the Python package describes a pipeline, and these
// bindings build it with the C++ StreamEnvironment and run it with the GIL released.
// Python callables (map, flat_map) run in task threads, which take the GIL once per
// batch.
#include <nanobind/stl/chrono.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/table.h>
#include "arrow_interop.h"
#include "bindings.h"
#include "sabot/api/stream_environment.h"
#include "sabot/common/time.h"

namespace sabot::python {
namespace {

// A Python object shared with task threads. The last owner may be a task thread
// without the GIL, so the reference is dropped under the GIL.
std::shared_ptr<nb::object> SharePythonObject(nb::object object) {
  return std::shared_ptr<nb::object>(new nb::object(std::move(object)),
                                     [](nb::object* o) {
                                       if (!Py_IsInitialized()) {
                                         // The interpreter is gone: its objects went with
                                         // it.
                                         o->release();
                                         delete o;
                                         return;
                                       }
                                       nb::gil_scoped_acquire gil;
                                       delete o;
                                     });
}

// The Python error as the engine reports it: type, message and the innermost frames.
Status PythonErrorStatus(const std::string& what, nb::python_error& error) {
  return Status::Invalid(what, " raised ", error.what());
}

Status CheckSchema(const std::string& what, const arrow::RecordBatch& batch,
                   const arrow::Schema& expected) {
  if (batch.schema()->Equals(expected, /*check_metadata=*/false)) return Status::OK();
  return Status::TypeError(what, " returned a batch of schema {",
                           batch.schema()->ToString(), "} but the stream declared {",
                           expected.ToString(),
                           "}; pass schema= with the batches' schema");
}

MapFunction PythonMap(std::string what, nb::object function,
                      std::shared_ptr<arrow::Schema> output_schema) {
  auto shared = SharePythonObject(std::move(function));
  return [what = std::move(what), shared,
          output_schema](const std::shared_ptr<arrow::RecordBatch>& batch)
             -> Result<std::shared_ptr<arrow::RecordBatch>> {
    nb::gil_scoped_acquire gil;
    try {
      nb::object result = (*shared)(ToPyArrowBatch(batch));
      ARROW_ASSIGN_OR_RAISE(auto out, ImportBatch(result));
      ARROW_RETURN_NOT_OK(CheckSchema(what, *out, *output_schema));
      return out;
    } catch (nb::python_error& error) {
      return PythonErrorStatus(what, error);
    } catch (const std::exception& error) {
      return Status::Invalid(what, ": ", error.what());
    }
  };
}

FlatMapFunction PythonFlatMap(std::string what, nb::object function,
                              std::shared_ptr<arrow::Schema> output_schema) {
  auto shared = SharePythonObject(std::move(function));
  return [what = std::move(what), shared,
          output_schema](const std::shared_ptr<arrow::RecordBatch>& batch)
             -> Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> {
    nb::gil_scoped_acquire gil;
    try {
      nb::object result = (*shared)(ToPyArrowBatch(batch));
      std::vector<std::shared_ptr<arrow::RecordBatch>> out;
      if (result.is_none()) return out;
      for (nb::handle item : result) {
        ARROW_ASSIGN_OR_RAISE(auto produced, ImportBatch(item));
        ARROW_RETURN_NOT_OK(CheckSchema(what, *produced, *output_schema));
        out.push_back(std::move(produced));
      }
      return out;
    } catch (nb::python_error& error) {
      return PythonErrorStatus(what, error);
    } catch (const std::exception& error) {
      return Status::Invalid(what, ": ", error.what());
    }
  };
}

std::shared_ptr<arrow::Schema> OptionalSchema(nb::handle schema) {
  return schema.is_none() ? nullptr : ValueOrThrow(ImportSchema(schema));
}

std::chrono::milliseconds Millis(int64_t ms) { return std::chrono::milliseconds(ms); }

// Runs the job with the GIL released, checking for Ctrl-C every 100 ms: an interrupt
// cancels the job, waits for its tasks and raises KeyboardInterrupt.
nb::dict Execute(const StreamEnvironment& env) {
  Result<JobResult> executed;
  {
    nb::gil_scoped_release release;
    // Ctrl-C cancels the job; the KeyboardInterrupt is raised once it has stopped.
    executed = env.Execute([] {
      nb::gil_scoped_acquire gil;
      return PyErr_CheckSignals() == 0 ? Status::OK()
                                       : Status::Cancelled("interrupted from Python");
    });
  }
  if (!executed.ok() && PyErr_Occurred() != nullptr) throw nb::python_error();
  const JobResult result = ValueOrThrow(std::move(executed));
  nb::dict out;
  out["elapsed_seconds"] = result.elapsed_seconds;
  out["cpu_seconds"] = result.cpu_seconds;
  out["checkpoints_completed"] = result.checkpoints_completed;
  nb::list metrics;
  for (const NodeMetricsSnapshot& node : result.metrics) {
    nb::dict entry;
    entry["node"] = node.node_name;
    entry["rows_in"] = node.rows_in;
    entry["rows_out"] = node.rows_out;
    entry["rows_rejected"] = node.rows_rejected;
    metrics.append(entry);
  }
  out["metrics"] = metrics;
  return out;
}

FileFormat ParseFileFormat(const std::string& format) {
  if (format == "jsonl" || format == "json") return FileFormat::kJsonLines;
  if (format == "csv") return FileFormat::kCsv;
  if (format == "parquet") return FileFormat::kParquet;
  if (format == "arrow" || format == "ipc") return FileFormat::kArrowIpc;
  throw nb::value_error(
      ("unknown file format '" + format + "'; use 'jsonl', 'csv', 'parquet' or 'arrow'")
          .c_str());
}

BadRecordPolicy ParseBadRecordPolicy(const std::string& policy) {
  if (policy == "fail") return BadRecordPolicy::kFail;
  if (policy == "skip") return BadRecordPolicy::kSkip;
  throw nb::value_error(
      ("unknown bad-record policy '" + policy + "'; use 'fail' or 'skip'").c_str());
}

CodecConfig ParseCodec(const std::string& codec, std::string schema_registry_url) {
  CodecConfig config;
  config.kind = ValueOrThrow(ParseCodecKind(codec));
  config.schema_registry_url = std::move(schema_registry_url);
  return config;
}

KafkaStartOffset ParseStart(const std::string& start) {
  if (start == "earliest") return KafkaStartOffset::kEarliest;
  if (start == "latest") return KafkaStartOffset::kLatest;
  if (start == "timestamp") return KafkaStartOffset::kTimestamp;
  if (start == "group") return KafkaStartOffset::kGroupOffsets;
  throw nb::value_error(
      ("unknown start '" + start + "'; use 'earliest', 'latest', 'timestamp' or 'group'")
          .c_str());
}

KafkaBadRecordPolicy ParseKafkaBadRecordPolicy(const std::string& policy) {
  if (policy == "fail") return KafkaBadRecordPolicy::kFail;
  if (policy == "skip") return KafkaBadRecordPolicy::kSkip;
  if (policy == "dead_letter") return KafkaBadRecordPolicy::kDeadLetter;
  throw nb::value_error(
      ("unknown bad-record policy '" + policy + "'; use 'fail', 'skip' or 'dead_letter'")
          .c_str());
}

KafkaMetadataColumns ParseMetadataColumns(const std::vector<std::string>& names) {
  KafkaMetadataColumns columns;
  for (const std::string& name : names) {
    if (name == "key") {
      columns.key = true;
    } else if (name == "topic") {
      columns.topic = true;
    } else if (name == "partition") {
      columns.partition = true;
    } else if (name == "offset") {
      columns.offset = true;
    } else if (name == "timestamp") {
      columns.timestamp = true;
    } else if (name == "headers") {
      columns.headers = true;
    } else {
      throw nb::value_error(("unknown metadata column '" + name +
                             "'; use key, topic, partition, offset, timestamp, headers")
                                .c_str());
    }
  }
  return columns;
}

DataStream FromArrow(StreamEnvironment& env, nb::handle data, int64_t repeat) {
  auto reader = ValueOrThrow(ImportReader(data));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  {
    nb::gil_scoped_release release;
    for (;;) {
      auto next = reader->Next();
      if (!next.ok()) {
        nb::gil_scoped_acquire gil;
        RaiseStatus(next.status());
      }
      if (*next == nullptr) break;
      batches.push_back(*std::move(next));
    }
  }
  return env.FromBatches(reader->schema(), std::move(batches), repeat);
}

}  // namespace

void InitializeStreams(nb::module_& module) {
  nb::class_<WindowSpec>(module, "WindowSpec").def("__repr__", [](const WindowSpec& w) {
    return "<sabot.WindowSpec " + w.ToString() + ">";
  });
  module.def(
      "tumbling_window",
      [](int64_t size_ms, int64_t offset_ms) {
        return Tumbling(Millis(size_ms), Millis(offset_ms));
      },
      nb::arg("size_ms"), nb::arg("offset_ms") = 0);
  module.def(
      "sliding_window",
      [](int64_t size_ms, int64_t slide_ms, int64_t offset_ms) {
        return Sliding(Millis(size_ms), Millis(slide_ms), Millis(offset_ms));
      },
      nb::arg("size_ms"), nb::arg("slide_ms"), nb::arg("offset_ms") = 0);
  module.def(
      "session_window", [](int64_t gap_ms) { return Session(Millis(gap_ms)); },
      nb::arg("gap_ms"));
  module.def("count_window", &CountWindow, nb::arg("size"), nb::arg("slide") = 0);

  nb::class_<AggregateSpec>(module, "AggregateSpec")
      .def("alias", &AggregateSpec::As, nb::arg("name"))
      .def_prop_ro("output_name", [](const AggregateSpec& a) { return a.output_name; })
      .def_prop_ro("column", [](const AggregateSpec& a) { return a.column; })
      .def("__repr__", [](const AggregateSpec& a) {
        return "<sabot.AggregateSpec " + a.output_name + ">";
      });
  module.def("agg_count", &Count, nb::arg("column") = "");
  module.def("agg_sum", &Sum, nb::arg("column"));
  module.def("agg_min", &Min, nb::arg("column"));
  module.def("agg_max", &Max, nb::arg("column"));
  module.def("agg_avg", &Avg, nb::arg("column"));
  module.def("agg_first", &First, nb::arg("column"));
  module.def("agg_last", &Last, nb::arg("column"));
  module.def("agg_count_distinct", &CountDistinct, nb::arg("column"));
  module.def("agg_variance", &Variance, nb::arg("column"));
  module.def("agg_variance_pop", &VariancePop, nb::arg("column"));
  module.def("agg_stddev", &Stddev, nb::arg("column"));
  module.def("agg_stddev_pop", &StddevPop, nb::arg("column"));

  nb::class_<CollectedBatches>(module, "Collected")
      .def_prop_ro("num_rows", &CollectedBatches::num_rows)
      .def("to_table", [](const CollectedBatches& collected) {
        auto table = ValueOrThrow(collected.ToTable());
        return ToPyArrowTable(table->schema(), collected.batches());
      });

  nb::class_<DataStream>(module, "DataStream")
      .def("filter", &DataStream::Filter, nb::arg("predicate"))
      .def("select", &DataStream::Select, nb::arg("expressions"))
      .def(
          "map",
          [](const DataStream& s, std::string name, nb::object fn, nb::handle schema) {
            auto output = OptionalSchema(schema);
            auto expected = output ? output : s.schema();
            return s.Map(name, PythonMap(name, std::move(fn), expected), output);
          },
          nb::arg("name"), nb::arg("function"), nb::arg("schema") = nb::none())
      .def(
          "flat_map",
          [](const DataStream& s, std::string name, nb::object fn, nb::handle schema) {
            auto output = OptionalSchema(schema);
            auto expected = output ? output : s.schema();
            return s.FlatMap(name, PythonFlatMap(name, std::move(fn), expected), output);
          },
          nb::arg("name"), nb::arg("function"), nb::arg("schema") = nb::none())
      .def("union", &DataStream::Union, nb::arg("others"))
      .def("key_by", &DataStream::KeyBy, nb::arg("columns"))
      .def("rebalance", &DataStream::Rebalance)
      .def("broadcast", &DataStream::Broadcast)
      .def(
          "with_watermark",
          [](const DataStream& s, std::string column, int64_t max_delay_ms,
             int64_t idle_timeout_ms) {
            auto strategy =
                WatermarkStrategy::BoundedOutOfOrderness(std::move(column), max_delay_ms);
            if (idle_timeout_ms > 0) strategy = strategy.WithIdleness(idle_timeout_ms);
            return s.AssignTimestampsAndWatermarks(strategy);
          },
          nb::arg("column"), nb::arg("max_delay_ms") = 0, nb::arg("idle_timeout_ms") = 0)
      .def(
          "set_parallelism",
          [](DataStream s, int parallelism) { return s.SetParallelism(parallelism); },
          nb::arg("parallelism"))
      .def(
          "named", [](DataStream s, std::string name) { return s.Name(std::move(name)); },
          nb::arg("name"))
      .def("collect", &DataStream::Collect)
      .def("print", &DataStream::Print, nb::arg("prefix") = "")
      .def("blackhole", &DataStream::Blackhole)
      .def(
          "write_files",
          [](const DataStream& s, std::string path, const std::string& format,
             bool exactly_once) {
            FileSinkConfig config;
            config.format = ParseFileFormat(format);
            config.path = std::move(path);
            config.exactly_once = exactly_once;
            return s.WriteFiles(std::move(config));
          },
          nb::arg("path"), nb::arg("format") = "jsonl", nb::arg("exactly_once") = false)
      .def(
          "write_kafka",
          [](const DataStream& s, std::string bootstrap, std::string topic,
             const std::string& codec, std::string schema_registry_url,
             std::vector<std::string> key_columns, bool exactly_once,
             std::string transactional_id_prefix,
             std::map<std::string, std::string> properties) {
            KafkaSinkConfig config;
            config.bootstrap_servers = std::move(bootstrap);
            config.topic = std::move(topic);
            config.codec = ParseCodec(codec, std::move(schema_registry_url));
            config.key_columns = std::move(key_columns);
            config.guarantee = exactly_once ? KafkaDeliveryGuarantee::kExactlyOnce
                                            : KafkaDeliveryGuarantee::kAtLeastOnce;
            config.transactional_id_prefix = std::move(transactional_id_prefix);
            config.properties = std::move(properties);
            return s.WriteKafka(std::move(config));
          },
          nb::arg("bootstrap"), nb::arg("topic"), nb::arg("codec") = "json",
          nb::arg("schema_registry_url") = "",
          nb::arg("key_columns") = std::vector<std::string>{},
          nb::arg("exactly_once") = false, nb::arg("transactional_id_prefix") = "",
          nb::arg("properties") = std::map<std::string, std::string>{})
      .def("late_data", &DataStream::LateData)
      .def_prop_ro("schema",
                   [](const DataStream& s) -> nb::object {
                     auto schema = s.schema();
                     return schema ? ToPyArrowSchema(schema) : nb::none();
                   })
      .def_prop_ro("node_name", &DataStream::node_name)
      .def_prop_ro("time_column", &DataStream::time_column);

  nb::class_<KeyedStream>(module, "KeyedStream")
      .def("window", &KeyedStream::Window, nb::arg("window"))
      .def(
          "aggregate",
          [](const KeyedStream& k, std::vector<AggregateSpec> specs) {
            return k.Aggregate(std::move(specs));
          },
          nb::arg("aggregates"))
      .def_prop_ro("key_columns", &KeyedStream::key_columns);

  nb::class_<WindowedStream>(module, "WindowedStream")
      .def(
          "allowed_lateness",
          [](WindowedStream w, int64_t ms) { return w.AllowedLateness(Millis(ms)); },
          nb::arg("lateness_ms"))
      .def("side_output_late_data",
           [](WindowedStream w) { return w.SideOutputLateData(); })
      .def("aggregate", &WindowedStream::Aggregate, nb::arg("aggregates"));

  nb::class_<StreamEnvironment>(module, "Environment")
      .def(nb::init<>())
      .def(
          "set_parallelism", [](StreamEnvironment& e, int p) { e.SetParallelism(p); },
          nb::arg("parallelism"))
      .def(
          "set_max_parallelism",
          [](StreamEnvironment& e, int32_t p) { e.SetMaxParallelism(p); },
          nb::arg("max_parallelism"))
      .def(
          "set_channel_capacity",
          [](StreamEnvironment& e, int c) { e.SetChannelCapacity(c); },
          nb::arg("capacity"))
      .def(
          "enable_checkpointing",
          [](StreamEnvironment& e, std::string directory, int64_t interval_ms,
             bool restore, std::string restore_from) {
            CheckpointConfig config;
            config.directory = std::move(directory);
            config.interval_ms = interval_ms;
            config.restore = restore;
            config.restore_from = std::move(restore_from);
            e.EnableCheckpointing(std::move(config));
          },
          nb::arg("directory"), nb::arg("interval_ms") = 1000, nb::arg("restore") = false,
          nb::arg("restore_from") = "")
      .def(
          "set_state_backend",
          [](StreamEnvironment& e, const std::string& kind, std::string directory) {
            StateBackendConfig config;
            if (kind == "memory") {
              config.kind = StateBackendKind::kMemory;
            } else if (kind == "rocksdb") {
              config.kind = StateBackendKind::kRocksDb;
            } else {
              throw nb::value_error(
                  ("unknown state backend '" + kind + "'; use 'memory' or 'rocksdb'")
                      .c_str());
            }
            config.directory = std::move(directory);
            e.SetStateBackend(std::move(config));
          },
          nb::arg("kind"), nb::arg("directory") = "")
      .def("from_arrow", &FromArrow, nb::arg("data"), nb::arg("repeat") = 1)
      .def(
          "from_files",
          [](StreamEnvironment& e, std::string path, const std::string& format,
             nb::handle schema, const std::string& on_bad_record,
             std::string rejects_path, int64_t batch_size) {
            FileSourceConfig config;
            config.path = std::move(path);
            config.format = ParseFileFormat(format);
            config.schema = OptionalSchema(schema);
            config.on_bad_record = ParseBadRecordPolicy(on_bad_record);
            config.rejects_path = std::move(rejects_path);
            config.batch_size = batch_size;
            return e.FromFiles(std::move(config));
          },
          nb::arg("path"), nb::arg("format") = "jsonl", nb::arg("schema") = nb::none(),
          nb::arg("on_bad_record") = "fail", nb::arg("rejects_path") = "",
          nb::arg("batch_size") = 64 * 1024)
      .def(
          "from_kafka",
          [](StreamEnvironment& e, std::string bootstrap, std::vector<std::string> topics,
             nb::handle schema, const std::string& codec, std::string schema_registry_url,
             const std::string& start, int64_t start_timestamp_ms, std::string group_id,
             bool bounded, std::string watermark_column, int64_t max_delay_ms,
             int64_t idle_timeout_ms, const std::string& on_bad_record,
             std::string dead_letter_topic, std::string dead_letter_path,
             std::vector<std::string> metadata,
             std::map<std::string, std::string> properties) {
            KafkaSourceConfig config;
            config.bootstrap_servers = std::move(bootstrap);
            config.topics = std::move(topics);
            config.schema = OptionalSchema(schema);
            config.codec = ParseCodec(codec, std::move(schema_registry_url));
            config.start = ParseStart(start);
            config.start_timestamp_ms = start_timestamp_ms;
            config.group_id = std::move(group_id);
            config.bounded = bounded;
            config.watermark_column = std::move(watermark_column);
            config.max_out_of_orderness_ms = max_delay_ms;
            config.idle_timeout_ms = idle_timeout_ms;
            config.on_bad_record = ParseKafkaBadRecordPolicy(on_bad_record);
            config.dead_letter_topic = std::move(dead_letter_topic);
            config.dead_letter_path = std::move(dead_letter_path);
            config.metadata = ParseMetadataColumns(metadata);
            config.properties = std::move(properties);
            return e.FromKafka(std::move(config));
          },
          nb::arg("bootstrap"), nb::arg("topics"), nb::arg("schema").none(),
          nb::arg("codec") = "json", nb::arg("schema_registry_url") = "",
          nb::arg("start") = "earliest", nb::arg("start_timestamp_ms") = 0,
          nb::arg("group_id") = "", nb::arg("bounded") = false,
          nb::arg("watermark_column") = "", nb::arg("max_delay_ms") = 0,
          nb::arg("idle_timeout_ms") = 0, nb::arg("on_bad_record") = "fail",
          nb::arg("dead_letter_topic") = "", nb::arg("dead_letter_path") = "",
          nb::arg("metadata") = std::vector<std::string>{},
          nb::arg("properties") = std::map<std::string, std::string>{})
      .def("validate",
           [](const StreamEnvironment& e) { ThrowIfError(e.BuildPlan().status()); })
      .def("execute", &Execute);
}

}  // namespace sabot::python
