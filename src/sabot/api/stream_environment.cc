#include "sabot/api/stream_environment.h"

#include <arrow/api.h>

#include <unordered_set>

#include "sabot/common/initialize.h"
#include "sabot/common/time.h"
#include "sabot/connectors/print_sink.h"
#include "sabot/connectors/table_source.h"
#include "sabot/types/key_groups.h"

namespace sabot {

/// The mutable plan under construction, shared by an environment and its handles.
struct PlanBuilder {
  std::vector<PlanNode> nodes;
  std::vector<PlanEdge> edges;
  Status first_error;
  int parallelism = 1;
  int32_t max_parallelism = kDefaultMaxParallelism;
  int channel_capacity = 4;
  CheckpointConfig checkpoints;
  StateBackendConfig state_backend;

  void RecordError(const Status& status) {
    if (first_error.ok()) first_error = status;
  }

  // Appends a node; returns its id.
  int AddNode(NodeRole role, std::shared_ptr<const NodeOptions> options,
              std::shared_ptr<arrow::Schema> schema) {
    PlanNode node;
    node.id = static_cast<int>(nodes.size());
    node.name = options->kind() + "#" + std::to_string(node.id);
    node.role = role;
    node.parallelism = parallelism;
    node.output_schema = std::move(schema);
    node.options = std::move(options);
    nodes.push_back(std::move(node));
    return nodes.back().id;
  }
};

NodeMetricsSnapshot JobResult::Metrics(const std::string& node_name) const {
  for (const auto& m : metrics) {
    if (m.node_name == node_name) return m;
  }
  return {node_name, 0, 0, 0};
}

StreamEnvironment::StreamEnvironment() : builder_(std::make_shared<PlanBuilder>()) {
  builder_->RecordError(Initialize());
}

StreamEnvironment& StreamEnvironment::SetParallelism(int parallelism) {
  if (parallelism < 1) {
    builder_->RecordError(
        Status::Invalid("SetParallelism(", parallelism, "): must be >= 1"));
  } else {
    builder_->parallelism = parallelism;
  }
  return *this;
}

StreamEnvironment& StreamEnvironment::SetMaxParallelism(int32_t max_parallelism) {
  builder_->max_parallelism = max_parallelism;
  return *this;
}

StreamEnvironment& StreamEnvironment::SetChannelCapacity(int capacity) {
  if (capacity < 1) {
    builder_->RecordError(
        Status::Invalid("SetChannelCapacity(", capacity, "): must be >= 1"));
  } else {
    builder_->channel_capacity = capacity;
  }
  return *this;
}

StreamEnvironment& StreamEnvironment::SetStateBackend(StateBackendConfig config) {
  if (config.kind == StateBackendKind::kRocksDb && config.directory.empty()) {
    builder_->RecordError(
        Status::Invalid("SetStateBackend: the RocksDB backend needs "
                        "StateBackendConfig.directory, a local "
                        "working directory"));
  } else {
    builder_->state_backend = std::move(config);
  }
  return *this;
}

StreamEnvironment& StreamEnvironment::EnableCheckpointing(CheckpointConfig config) {
  if (config.directory.empty()) {
    builder_->RecordError(Status::Invalid(
        "EnableCheckpointing: set CheckpointConfig.directory to where checkpoints go"));
  } else {
    builder_->checkpoints = std::move(config);
  }
  return *this;
}

namespace {

Status WithContext(const std::string& method, const Status& status) {
  return status.WithMessage(method, ": ", status.message());
}

}  // namespace

DataStream StreamEnvironment::FromGenerator(GeneratorConfig config) {
  auto options = GeneratorOptions::Make(std::move(config));
  if (!options.ok()) {
    builder_->RecordError(WithContext("FromGenerator", options.status()));
    return DataStream(builder_, -1);
  }
  auto schema = (*options)->schema();
  return DataStream(builder_, builder_->AddNode(NodeRole::kSource, *options, schema));
}

DataStream StreamEnvironment::FromFiles(FileSourceConfig config) {
  auto options = FileSourceOptions::Make(std::move(config));
  if (!options.ok()) {
    builder_->RecordError(WithContext("FromFiles", options.status()));
    return DataStream(builder_, -1);
  }
  auto schema = (*options)->schema();
  return DataStream(builder_, builder_->AddNode(NodeRole::kSource, *options, schema));
}

DataStream StreamEnvironment::FromKafka(KafkaSourceConfig config) {
  auto options = KafkaSourceOptions::Make(std::move(config));
  if (!options.ok()) {
    builder_->RecordError(WithContext("FromKafka", options.status()));
    return DataStream(builder_, -1);
  }
  auto schema = (*options)->schema();
  DataStream stream(builder_, builder_->AddNode(NodeRole::kSource, *options, schema));
  stream.time_column_ = (*options)->config().watermark_column;
  return stream;
}

DataStream StreamEnvironment::FromBatches(
    std::shared_ptr<arrow::Schema> schema,
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches, int64_t repeat) {
  auto options = TableSourceOptions::Make(schema, std::move(batches), repeat);
  if (!options.ok()) {
    builder_->RecordError(WithContext("FromBatches", options.status()));
    return DataStream(builder_, -1);
  }
  return DataStream(builder_, builder_->AddNode(NodeRole::kSource, *options, schema));
}

Result<std::shared_ptr<const LogicalPlan>> StreamEnvironment::BuildPlan() const {
  ARROW_RETURN_NOT_OK(builder_->first_error);
  std::unordered_set<std::string> names;
  for (const PlanNode& node : builder_->nodes) {
    if (!names.insert(node.name).second) {
      return Status::Invalid("two nodes are named '", node.name,
                             "'; node names must be unique");
    }
  }
  return LogicalPlan::Make(builder_->nodes, builder_->edges, builder_->max_parallelism);
}

Result<std::shared_ptr<Job>> StreamEnvironment::ExecuteAsync() const {
  ARROW_ASSIGN_OR_RAISE(auto plan, BuildPlan());
  JobOptions options;
  options.channel_capacity = builder_->channel_capacity;
  options.checkpoints = builder_->checkpoints;
  options.state_backend = builder_->state_backend;
  return Job::Start(std::move(plan), options);
}

Result<JobResult> StreamEnvironment::Execute(const std::function<Status()>& poll) const {
  constexpr int64_t kPollIntervalMs = 100;
  const int64_t start = MonotonicNanos();
  const double cpu_start = ProcessCpuSeconds();
  ARROW_ASSIGN_OR_RAISE(auto job, ExecuteAsync());
  if (poll) {
    while (!job->WaitFor(kPollIntervalMs)) {
      Status polled = poll();
      if (!polled.ok()) {
        job->Cancel();
        (void)job->Wait();
        return polled;
      }
    }
  }
  ARROW_RETURN_NOT_OK(job->Wait());
  JobResult result;
  result.metrics = job->Metrics();
  result.elapsed_seconds = (MonotonicNanos() - start) / 1e9;
  result.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  if (job->checkpoints() != nullptr) {
    result.checkpoints_completed = job->checkpoints()->num_completed();
  }
  return result;
}

DataStream::DataStream(std::shared_ptr<PlanBuilder> builder, int node_id,
                       Partitioning partitioning, std::vector<std::string> key_columns,
                       int output_port)
    : builder_(std::move(builder)),
      node_id_(node_id),
      partitioning_(partitioning),
      key_columns_(std::move(key_columns)),
      output_port_(output_port) {}

std::shared_ptr<arrow::Schema> DataStream::schema() const {
  return node_id_ < 0 ? nullptr : builder_->nodes[node_id_].OutputSchema(output_port_);
}

DataStream DataStream::LateData() const {
  if (node_id_ < 0) return *this;
  const PlanNode& node = builder_->nodes[node_id_];
  if (output_port_ != 0 || node.side_output_schemas.empty()) {
    builder_->RecordError(Status::Invalid(
        "LateData: '", node.name,
        "' has no late-data output; call SideOutputLateData() on the window"));
    return DataStream(builder_, -1);
  }
  DataStream late(builder_, node_id_, Partitioning::kForward, {}, 1);
  late.time_column_ = time_column_;
  return late;
}

std::string DataStream::node_name() const {
  return node_id_ < 0 ? "" : builder_->nodes[node_id_].name;
}

DataStream DataStream::AddOperator(const std::string& method, NodeRole role,
                                   Result<std::shared_ptr<const NodeOptions>> options,
                                   std::shared_ptr<arrow::Schema> output_schema) const {
  if (node_id_ < 0) return *this;  // an earlier error is already recorded
  if (!options.ok()) {
    builder_->RecordError(
        WithContext(method + " after '" + node_name() + "'", options.status()));
    return DataStream(builder_, -1);
  }
  if (!output_schema) output_schema = schema();
  // Event time stays declared while its column survives.
  const bool keeps_time =
      !time_column_.empty() && output_schema->GetFieldIndex(time_column_) >= 0;
  int id = builder_->AddNode(role, *std::move(options), std::move(output_schema));
  builder_->edges.push_back({node_id_, id, 0, partitioning_, key_columns_, output_port_});
  DataStream next(builder_, id);
  if (keeps_time) next.time_column_ = time_column_;
  return next;
}

template <typename T>
Result<std::shared_ptr<const NodeOptions>> Upcast(Result<std::shared_ptr<T>> options) {
  ARROW_ASSIGN_OR_RAISE(auto typed, std::move(options));
  return std::shared_ptr<const NodeOptions>(std::move(typed));
}

DataStream DataStream::Filter(const Expr& predicate) const {
  if (node_id_ < 0) return *this;
  return AddOperator("Filter", NodeRole::kOperator,
                     Upcast(FilterOptions::Make(predicate, schema())), schema());
}

DataStream DataStream::Select(const std::vector<Expr>& expressions) const {
  if (node_id_ < 0) return *this;
  auto options = ProjectOptions::Make(expressions, schema());
  auto output_schema = options.ok() ? (*options)->output_schema() : nullptr;
  return AddOperator("Select", NodeRole::kOperator, Upcast(std::move(options)),
                     output_schema);
}

DataStream DataStream::Map(std::string name, MapFunction function,
                           std::shared_ptr<arrow::Schema> output_schema) const {
  if (node_id_ < 0) return *this;
  if (!function) {
    return AddOperator("Map", NodeRole::kOperator,
                       Status::Invalid("the function is empty"), nullptr);
  }
  if (!output_schema) output_schema = schema();
  auto options =
      std::make_shared<MapOptions>(std::move(name), std::move(function), output_schema);
  return AddOperator("Map", NodeRole::kOperator,
                     std::shared_ptr<const NodeOptions>(std::move(options)),
                     output_schema);
}

DataStream DataStream::FlatMap(std::string name, FlatMapFunction function,
                               std::shared_ptr<arrow::Schema> output_schema) const {
  if (node_id_ < 0) return *this;
  if (!function) {
    return AddOperator("FlatMap", NodeRole::kOperator,
                       Status::Invalid("the function is empty"), nullptr);
  }
  if (!output_schema) output_schema = schema();
  auto options = std::make_shared<FlatMapOptions>(std::move(name), std::move(function),
                                                  output_schema);
  return AddOperator("FlatMap", NodeRole::kOperator,
                     std::shared_ptr<const NodeOptions>(std::move(options)),
                     output_schema);
}

DataStream DataStream::Union(const std::vector<DataStream>& others) const {
  if (node_id_ < 0) return *this;
  std::vector<const DataStream*> inputs{this};
  std::vector<std::shared_ptr<arrow::Schema>> schemas{schema()};
  for (const DataStream& other : others) {
    if (other.node_id_ < 0) return other;
    if (other.builder_ != builder_) {
      builder_->RecordError(
          Status::Invalid("Union: streams come from different environments"));
      return DataStream(builder_, -1);
    }
    inputs.push_back(&other);
    schemas.push_back(other.schema());
  }
  auto options = UnionOptions::Make(schemas);
  if (!options.ok()) {
    builder_->RecordError(
        WithContext("Union after '" + node_name() + "'", options.status()));
    return DataStream(builder_, -1);
  }
  int id = builder_->AddNode(NodeRole::kOperator, *options, schema());
  for (size_t port = 0; port < inputs.size(); ++port) {
    const DataStream& input = *inputs[port];
    builder_->edges.push_back({input.node_id_, id, static_cast<int>(port),
                               input.partitioning_, input.key_columns_,
                               input.output_port_});
  }
  // Event time stays declared when every input declares the same column.
  DataStream merged(builder_, id);
  bool same_time = true;
  for (const DataStream* input : inputs) same_time &= input->time_column_ == time_column_;
  if (same_time) merged.time_column_ = time_column_;
  return merged;
}

KeyedStream DataStream::KeyBy(std::vector<std::string> key_columns) const {
  if (node_id_ >= 0) {
    auto resolved = ResolveKeyColumns(*schema(), key_columns);
    if (!resolved.ok()) {
      builder_->RecordError(
          WithContext("KeyBy after '" + node_name() + "'", resolved.status()));
      return KeyedStream(DataStream(builder_, -1));
    }
  }
  DataStream keyed(builder_, node_id_, Partitioning::kHash, std::move(key_columns),
                   output_port_);
  keyed.time_column_ = time_column_;
  return KeyedStream(std::move(keyed));
}

DataStream DataStream::AssignTimestampsAndWatermarks(WatermarkStrategy strategy) const {
  if (node_id_ < 0) return *this;
  std::string time_column = strategy.time_column;
  DataStream next = AddOperator(
      "AssignTimestampsAndWatermarks", NodeRole::kOperator,
      Upcast(WatermarkAssignerOptions::Make(std::move(strategy), schema())), schema());
  if (next.node_id_ >= 0) next.time_column_ = std::move(time_column);
  return next;
}

WindowedStream KeyedStream::Window(WindowSpec window) const {
  return WindowedStream(*this, window);
}

DataStream KeyedStream::Aggregate(std::vector<AggregateSpec> aggregates,
                                  EmitMode emit) const {
  const DataStream& input = stream_;
  if (input.node_id_ < 0) return input;
  auto options = RunningAggregateOptions::Make(input.key_columns_, std::move(aggregates),
                                               emit, input.time_column_, input.schema());
  auto output_schema = options.ok() ? (*options)->output_schema() : nullptr;
  return input.AddOperator("Aggregate", NodeRole::kOperator, Upcast(std::move(options)),
                           output_schema);
}

DataStream KeyedStream::Process(std::string name, KeyedProcessFunctionFactory factory,
                                std::shared_ptr<arrow::Schema> output_schema) const {
  const DataStream& input = stream_;
  if (input.node_id_ < 0) return input;
  auto options =
      KeyedProcessOptions::Make(std::move(name), std::move(factory), input.key_columns_,
                                input.schema(), output_schema);
  return input.AddOperator("Process", NodeRole::kOperator, Upcast(std::move(options)),
                           output_schema);
}

WindowedStream& WindowedStream::AllowedLateness(std::chrono::milliseconds lateness) {
  allowed_lateness_ms_ = lateness.count();
  return *this;
}

WindowedStream& WindowedStream::SideOutputLateData() {
  late_data_side_output_ = true;
  return *this;
}

DataStream WindowedStream::Aggregate(std::vector<AggregateSpec> aggregates) const {
  const DataStream& input = keyed_.stream_;
  if (input.node_id_ < 0) return input;
  WindowConfig config;
  config.key_columns = input.key_columns_;
  config.time_column = input.time_column_;
  config.window = window_;
  config.aggregates = std::move(aggregates);
  config.allowed_lateness_ms = allowed_lateness_ms_;
  config.late_data_side_output = late_data_side_output_;
  auto options = WindowAggregateOptions::Make(std::move(config), input.schema());
  auto output_schema = options.ok() ? (*options)->output_schema() : nullptr;
  DataStream result = input.AddOperator("Window.Aggregate", NodeRole::kOperator,
                                        Upcast(std::move(options)), output_schema);
  if (result.node_id_ >= 0 && late_data_side_output_) {
    input.builder_->nodes[result.node_id_].side_output_schemas.push_back(input.schema());
  }
  return result;
}

DataStream DataStream::Rebalance() const {
  return WithPartitioning(Partitioning::kRebalance);
}
DataStream DataStream::Broadcast() const {
  return WithPartitioning(Partitioning::kBroadcast);
}

DataStream DataStream::WithPartitioning(Partitioning partitioning) const {
  DataStream next(builder_, node_id_, partitioning, {}, output_port_);
  next.time_column_ = time_column_;
  return next;
}

DataStream& DataStream::SetParallelism(int parallelism) {
  if (node_id_ < 0) return *this;
  if (parallelism < 1) {
    builder_->RecordError(Status::Invalid("SetParallelism(", parallelism, ") on '",
                                          node_name(), "': must be >= 1"));
  } else {
    builder_->nodes[node_id_].parallelism = parallelism;
  }
  return *this;
}

DataStream& DataStream::Name(std::string name) {
  if (node_id_ >= 0) builder_->nodes[node_id_].name = std::move(name);
  return *this;
}

std::string DataStream::Print(std::string prefix) const {
  return AddOperator("Print", NodeRole::kSink,
                     std::shared_ptr<const NodeOptions>(
                         std::make_shared<PrintSinkOptions>(std::move(prefix))),
                     nullptr)
      .node_name();
}

std::string DataStream::Blackhole() const {
  return AddOperator(
             "Blackhole", NodeRole::kSink,
             std::shared_ptr<const NodeOptions>(std::make_shared<BlackholeSinkOptions>()),
             nullptr)
      .node_name();
}

std::shared_ptr<CollectedBatches> DataStream::Collect() const {
  auto target = std::make_shared<CollectedBatches>(schema());
  AddOperator(
      "Collect", NodeRole::kSink,
      std::shared_ptr<const NodeOptions>(std::make_shared<CollectSinkOptions>(target)),
      nullptr);
  return target;
}

std::string DataStream::WriteFiles(FileSinkConfig config) const {
  if (node_id_ < 0) return "";
  return AddOperator("WriteFiles", NodeRole::kSink,
                     Upcast(FileSinkOptions::Make(std::move(config), schema())), nullptr)
      .node_name();
}

std::string DataStream::WriteKafka(KafkaSinkConfig config) const {
  if (node_id_ < 0) return "";
  return AddOperator("WriteKafka", NodeRole::kSink,
                     Upcast(KafkaSinkOptions::Make(std::move(config), schema())), nullptr)
      .node_name();
}

std::string DataStream::WriteJsonLines(std::string directory) const {
  return WriteFiles({FileFormat::kJsonLines, std::move(directory)});
}
std::string DataStream::WriteCsv(std::string directory) const {
  return WriteFiles({FileFormat::kCsv, std::move(directory)});
}
std::string DataStream::WriteParquet(std::string directory) const {
  return WriteFiles({FileFormat::kParquet, std::move(directory)});
}
std::string DataStream::WriteArrowIpc(std::string directory) const {
  return WriteFiles({FileFormat::kArrowIpc, std::move(directory)});
}

}  // namespace sabot
