// Test support for the file connectors: drives the "file_source" readers and the sink
// operators ("file_sink", "print_sink") through a registry, as the runtime does,
// without a job.
// Included by tests only.
#pragma once

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/file/file_options.h"
#include "sabot/connectors/print_sink.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/operator_registry.h"

namespace sabot::testing {

/// Succeeds when `text` contains `part`; the failure message shows both.
inline ::testing::AssertionResult Contains(std::string_view text, std::string_view part) {
  if (text.find(part) != std::string_view::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "'" << text << "' does not contain '" << part << "'";
}

/// Returns a registry holding only the file connectors.
inline std::unique_ptr<OperatorRegistry> FileConnectorRegistry() {
  auto registry = std::make_unique<OperatorRegistry>();
  Status registered = RegisterFileConnectors(registry.get());
  EXPECT_TRUE(registered.ok()) << registered.ToString();
  return registry;
}

inline void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  ASSERT_TRUE(file.good()) << "cannot write " << path;
}

inline std::string ReadTextFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

/// Reads everything subtask `subtask` of `parallelism` reads, one batch per Next().
inline Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadSubtask(
    const std::shared_ptr<FileSourceOptions>& options, int subtask, int parallelism,
    NodeMetrics* metrics) {
  auto registry = FileConnectorRegistry();
  PlanNode node;
  node.name = "file_source#0";
  node.role = NodeRole::kSource;
  node.parallelism = parallelism;
  node.output_schema = options->schema();
  node.options = options;
  SourceContext context{node.name, subtask, parallelism, metrics};
  ARROW_ASSIGN_OR_RAISE(auto reader, registry->MakeSourceReader(node, context));
  ARROW_RETURN_NOT_OK(reader->Open());
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  Status status;
  while (status.ok()) {
    auto next = reader->Next();
    status = next.status();
    if (!status.ok() || *next == nullptr) break;
    batches.push_back(*next);
  }
  Status closed = reader->Close();
  ARROW_RETURN_NOT_OK(status);
  ARROW_RETURN_NOT_OK(closed);
  return batches;
}

/// Reads the whole input with one subtask and returns it as a table.
inline Result<std::shared_ptr<arrow::Table>> ReadAll(
    const std::shared_ptr<FileSourceOptions>& options, NodeMetrics* metrics = nullptr) {
  NodeMetrics unused;
  ARROW_ASSIGN_OR_RAISE(auto batches,
                        ReadSubtask(options, 0, 1, metrics ? metrics : &unused));
  return arrow::Table::FromRecordBatches(options->schema(), batches);
}

/// Makes source options, failing the test when Make fails.
inline std::shared_ptr<FileSourceOptions> SourceOptions(FileSourceConfig config) {
  auto options = FileSourceOptions::Make(std::move(config));
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  return options.ok() ? *options : nullptr;
}

/// Collects what an operator emits; a sink should emit nothing.
class CapturingCollector : public Collector {
 public:
  Status Collect(std::shared_ptr<arrow::RecordBatch> batch) override {
    batches.push_back(std::move(batch));
    return Status::OK();
  }
  Status EmitWatermark(int64_t watermark) override {
    watermarks.push_back(watermark);
    return Status::OK();
  }

  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  std::vector<int64_t> watermarks;
};

/// Runs the operator of `options` (a sink) as subtask `subtask` of `parallelism` over
/// `batches`: Open, ProcessBatch for each, Finish, Close.
inline Status RunSink(const std::shared_ptr<const NodeOptions>& options,
                      const std::shared_ptr<arrow::Schema>& schema,
                      const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
                      int subtask = 0, int parallelism = 1) {
  auto registry = std::make_unique<OperatorRegistry>();
  ARROW_RETURN_NOT_OK(RegisterFileConnectors(registry.get()));
  ARROW_RETURN_NOT_OK(RegisterPrintSink(registry.get()));
  PlanNode node;
  node.name = options->kind() + "#1";
  node.role = NodeRole::kSink;
  node.parallelism = parallelism;
  node.output_schema = schema;
  node.options = options;
  ARROW_ASSIGN_OR_RAISE(auto sink, registry->MakeOperator(node));
  CapturingCollector collector;
  OperatorContext context;
  context.node_name = node.name;
  context.subtask = subtask;
  context.parallelism = parallelism;
  context.input_schemas = {schema};
  context.output = &collector;
  Status status = sink->Open(context);
  for (size_t i = 0; status.ok() && i < batches.size(); ++i) {
    status = sink->ProcessBatch(0, batches[i]);
  }
  if (status.ok()) status = sink->Finish();
  Status closed = sink->Close();
  ARROW_RETURN_NOT_OK(status);
  ARROW_RETURN_NOT_OK(closed);
  if (!collector.batches.empty()) return Status::Invalid("the sink emitted batches");
  return Status::OK();
}

}  // namespace sabot::testing
