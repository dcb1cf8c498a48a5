// The fluent C++ API: a StreamEnvironment builds a LogicalPlan through DataStream and
// KeyedStream handles, then executes it.
//
//   sabot::StreamEnvironment env;
//   env.SetParallelism(2);
//   env.FromGenerator(sabot::TransactionsGenerator(1'000'000))
//       .Filter(sabot::col("amount") > 1000)
//       .Select({sabot::col("account"), sabot::col("amount"), sabot::col("city")})
//       .WriteJsonLines("out/large");
//   ARROW_ASSIGN_OR_RAISE(auto result, env.Execute());
//
// Builder methods never fail on the spot: the first error (unknown column, type
// mismatch, missing file) is kept and returned by BuildPlan()/Execute(), prefixed with
// the method and node it came from. Handles are cheap to copy; an environment and its
// handles are used from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/connectors/collect_sink.h"
#include "sabot/connectors/file/file_options.h"
#include "sabot/connectors/generator_source.h"
#include "sabot/connectors/kafka/kafka_options.h"
#include "sabot/expr/expression.h"
#include "sabot/operators/aggregate/running_aggregate.h"
#include "sabot/operators/process/keyed_process.h"
#include "sabot/operators/stateless.h"
#include "sabot/operators/window/window_aggregate.h"
#include "sabot/plan/logical_plan.h"
#include "sabot/runtime/job.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/time/watermark_strategy.h"

namespace sabot {

class DataStream;
class KeyedStream;
class WindowedStream;
struct PlanBuilder;

/// What a finished job reports.
struct JobResult {
  /// Counters per plan node, in node order.
  std::vector<NodeMetricsSnapshot> metrics;
  double elapsed_seconds = 0;
  /// CPU seconds (user + system) the process used while the job ran.
  double cpu_seconds = 0;
  /// Checkpoints completed while the job ran (0 without checkpointing).
  int64_t checkpoints_completed = 0;

  /// Returns the counters of the node named `node_name` (zeros if there is none).
  NodeMetricsSnapshot Metrics(const std::string& node_name) const;
};

class StreamEnvironment {
 public:
  StreamEnvironment();

  /// Sets the parallelism of nodes created from now on (default 1).
  StreamEnvironment& SetParallelism(int parallelism);
  /// Sets the number of key groups (default 128); the upper bound of any parallelism.
  StreamEnvironment& SetMaxParallelism(int32_t max_parallelism);
  /// Sets the number of elements each channel buffers (default 4).
  StreamEnvironment& SetChannelCapacity(int capacity);
  /// Takes aligned-barrier checkpoints while jobs run (docs/state_and_checkpoints.md).
  StreamEnvironment& EnableCheckpointing(CheckpointConfig config);
  /// Where keyed operators keep state: memory (default) or RocksDB, whose `directory`
  /// is a local working directory the job owns (docs/state_and_checkpoints.md).
  StreamEnvironment& SetStateBackend(StateBackendConfig config);

  DataStream FromGenerator(GeneratorConfig config);
  DataStream FromFiles(FileSourceConfig config);
  /// Reads Kafka topics (connectors/kafka/README.md). With a watermark_column the
  /// stream carries per-partition watermarks and that column is its event time.
  DataStream FromKafka(KafkaSourceConfig config);
  DataStream FromBatches(std::shared_ptr<arrow::Schema> schema,
                         std::vector<std::shared_ptr<arrow::RecordBatch>> batches,
                         int64_t repeat = 1);

  /// Validates and freezes the plan built so far.
  Result<std::shared_ptr<const LogicalPlan>> BuildPlan() const;
  /// Starts the job and returns at once.
  Result<std::shared_ptr<Job>> ExecuteAsync() const;
  /// Runs the job to completion. `poll`, when set, is called on this thread about every
  /// 100 ms while the job runs (Python checks for Ctrl-C there); an error from it
  /// cancels the job and is returned.
  Result<JobResult> Execute(const std::function<Status()>& poll = {}) const;

 private:
  friend class DataStream;
  std::shared_ptr<PlanBuilder> builder_;
};

class DataStream {
 public:
  /// Keeps rows where `predicate` is true (null counts as false).
  DataStream Filter(const Expr& predicate) const;
  /// Computes one output column per expression, named by Expr::As() or the column.
  DataStream Select(const std::vector<Expr>& expressions) const;
  /// Applies `function` to every batch; `output_schema` null means the input schema.
  DataStream Map(std::string name, MapFunction function,
                 std::shared_ptr<arrow::Schema> output_schema = nullptr) const;
  DataStream FlatMap(std::string name, FlatMapFunction function,
                     std::shared_ptr<arrow::Schema> output_schema = nullptr) const;
  /// Merges streams with equal schemas.
  DataStream Union(const std::vector<DataStream>& others) const;
  /// Routes rows by hash of the key columns to the subtask owning their key group.
  KeyedStream KeyBy(std::vector<std::string> key_columns) const;
  /// Spreads whole batches round-robin over the next operator's subtasks.
  DataStream Rebalance() const;
  /// Sends every batch to every subtask of the next operator.
  DataStream Broadcast() const;
  /// Declares the event-time column and generates watermarks from it in every subtask
  /// (bounded out-of-orderness); windows downstream use this column.
  DataStream AssignTimestampsAndWatermarks(WatermarkStrategy strategy) const;

  /// Sets the parallelism of this stream's node.
  DataStream& SetParallelism(int parallelism);
  /// Renames this stream's node (names appear in errors and metrics; must be unique).
  DataStream& Name(std::string name);

  /// Sinks. Each returns the sink's node name (for JobResult::Metrics).
  std::string Print(std::string prefix = "") const;
  std::string Blackhole() const;
  /// Keeps every row; read the returned batches after the job ends.
  std::shared_ptr<CollectedBatches> Collect() const;
  std::string WriteFiles(FileSinkConfig config) const;
  std::string WriteJsonLines(std::string directory) const;
  std::string WriteCsv(std::string directory) const;
  std::string WriteParquet(std::string directory) const;
  std::string WriteArrowIpc(std::string directory) const;
  std::string WriteKafka(KafkaSinkConfig config) const;

  /// The rows a window dropped as too late (see WindowedStream::SideOutputLateData),
  /// with the window's input schema.
  DataStream LateData() const;

  /// Returns the schema of this stream's rows (null after a builder error).
  std::shared_ptr<arrow::Schema> schema() const;
  /// Returns the node name, e.g. "filter#2".
  std::string node_name() const;
  /// Returns the event-time column declared upstream (empty if none).
  const std::string& time_column() const { return time_column_; }

 private:
  friend class StreamEnvironment;
  friend class KeyedStream;
  friend class WindowedStream;
  DataStream(std::shared_ptr<PlanBuilder> builder, int node_id,
             Partitioning partitioning = Partitioning::kForward,
             std::vector<std::string> key_columns = {}, int output_port = 0);
  DataStream WithPartitioning(Partitioning partitioning) const;
  DataStream AddOperator(const std::string& method, NodeRole role,
                         Result<std::shared_ptr<const NodeOptions>> options,
                         std::shared_ptr<arrow::Schema> output_schema) const;

  std::shared_ptr<PlanBuilder> builder_;
  int node_id_;  // -1 after an error
  Partitioning partitioning_;
  std::vector<std::string> key_columns_;
  std::string time_column_;
  int output_port_ = 0;  // which output of the node this stream reads
};

/// A stream partitioned by key: operations applied to it receive all rows of a key in
/// one subtask. Windows and keyed state attach here.
class KeyedStream {
 public:
  DataStream Filter(const Expr& predicate) const { return stream_.Filter(predicate); }
  DataStream Select(const std::vector<Expr>& expressions) const {
    return stream_.Select(expressions);
  }
  DataStream Map(std::string name, MapFunction function,
                 std::shared_ptr<arrow::Schema> output_schema = nullptr) const {
    return stream_.Map(std::move(name), std::move(function), std::move(output_schema));
  }
  DataStream FlatMap(std::string name, FlatMapFunction function,
                     std::shared_ptr<arrow::Schema> output_schema = nullptr) const {
    return stream_.FlatMap(std::move(name), std::move(function),
                           std::move(output_schema));
  }
  const std::vector<std::string>& key_columns() const { return stream_.key_columns_; }
  /// Groups rows per key into windows: Tumbling, Sliding, Session, CountWindow or
  /// GlobalWindow(trigger).
  WindowedStream Window(WindowSpec window) const;
  /// Running (non-windowed) aggregation per key: an upsert stream of key columns and
  /// aggregates, emitted after each batch that changed a key or on each watermark.
  DataStream Aggregate(std::vector<AggregateSpec> aggregates,
                       EmitMode emit = EmitMode::kOnUpdate) const;
  /// Runs a KeyedProcessFunction (one instance per subtask, made by `factory`) that
  /// emits batches of `output_schema`.
  DataStream Process(std::string name, KeyedProcessFunctionFactory factory,
                     std::shared_ptr<arrow::Schema> output_schema) const;

 private:
  friend class DataStream;
  friend class WindowedStream;
  explicit KeyedStream(DataStream stream) : stream_(std::move(stream)) {}
  DataStream stream_;
};

/// A keyed stream cut into windows: aggregate each window per key.
class WindowedStream {
 public:
  /// Keeps time windows for `lateness` after they fired: late rows within it update
  /// the window and its new result is emitted again (default 0).
  WindowedStream& AllowedLateness(std::chrono::milliseconds lateness);
  /// Sends rows that are too late even for allowed lateness to the result's
  /// LateData() stream instead of dropping them (dropped rows are counted as the
  /// node's rows_rejected).
  WindowedStream& SideOutputLateData();

  /// Emits one row per key and window when it fires: key columns, window_start,
  /// window_end, then the aggregates.
  DataStream Aggregate(std::vector<AggregateSpec> aggregates) const;

 private:
  friend class KeyedStream;
  WindowedStream(KeyedStream keyed, WindowSpec window)
      : keyed_(std::move(keyed)), window_(window) {}
  KeyedStream keyed_;
  WindowSpec window_;
  int64_t allowed_lateness_ms_ = 0;
  bool late_data_side_output_ = false;
};

}  // namespace sabot
