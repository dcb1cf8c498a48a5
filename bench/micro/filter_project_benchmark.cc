// Filter and projection on in-memory batches of the transactions stream: the cost of
// the stateless operators alone, without sources, channels or threads.
#include <arrow/api.h>
#include <benchmark/benchmark.h>

#include <cstdio>

#include "sabot/api/stream_environment.h"
#include "sabot/operators/stateless.h"
#include "sabot/runtime/operator_registry.h"

namespace sabot {
namespace {

constexpr int64_t kBatchRows = 64 * 1024;

void CheckOk(const Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    std::abort();
  }
}

std::shared_ptr<arrow::RecordBatch> TransactionsBatch() {
  StreamEnvironment env;
  GeneratorConfig config = TransactionsGenerator(kBatchRows);
  config.batch_size = kBatchRows;
  auto collected = env.FromGenerator(config).Collect();
  CheckOk(env.Execute().status());
  return collected->batches().front();
}

class Discard : public Collector {
 public:
  Status Collect(std::shared_ptr<arrow::RecordBatch> batch) override {
    benchmark::DoNotOptimize(batch);
    return Status::OK();
  }
  Status EmitWatermark(int64_t) override { return Status::OK(); }
};

// Instantiates an operator for `options` writing into `output`.
std::unique_ptr<Operator> Instantiate(std::shared_ptr<const NodeOptions> options,
                                      Collector* output) {
  PlanNode node;
  node.name = options->kind();
  node.options = std::move(options);
  auto op = OperatorRegistry::Default()->MakeOperator(node).ValueOrDie();
  OperatorContext context;
  context.output = output;
  CheckOk(op->Open(context));
  return op;
}

void BM_Filter(benchmark::State& state) {
  auto batch = TransactionsBatch();
  Discard discard;
  auto filter = Instantiate(
      FilterOptions::Make(col("amount") > 2500.0, batch->schema()).ValueOrDie(),
      &discard);
  for (auto _ : state) {
    CheckOk(filter->ProcessBatch(0, batch));
  }
  state.SetItemsProcessed(state.iterations() * batch->num_rows());
}
BENCHMARK(BM_Filter);

// The two parts of a filter: evaluating the predicate to a mask, and selecting rows.
void BM_EvaluatePredicate(benchmark::State& state) {
  auto batch = TransactionsBatch();
  auto predicate =
      BoundExpr::Bind(col("amount") > 2500.0 && col("city") != "Paris", batch->schema())
          .ValueOrDie();
  for (auto _ : state) {
    benchmark::DoNotOptimize(predicate.Evaluate(*batch).ValueOrDie());
  }
  state.SetItemsProcessed(state.iterations() * batch->num_rows());
}
BENCHMARK(BM_EvaluatePredicate);

void BM_Project(benchmark::State& state) {
  auto batch = TransactionsBatch();
  Discard discard;
  auto project = Instantiate(
      ProjectOptions::Make({col("account"), (col("amount") * 0.92).As("amount_eur"),
                            col("city"), col("_time")},
                           batch->schema())
          .ValueOrDie(),
      &discard);
  for (auto _ : state) {
    CheckOk(project->ProcessBatch(0, batch));
  }
  state.SetItemsProcessed(state.iterations() * batch->num_rows());
}
BENCHMARK(BM_Project);

void BM_FilterProject(benchmark::State& state) {
  auto batch = TransactionsBatch();
  Discard discard;
  auto project_options =
      ProjectOptions::Make({col("account"), (col("amount") * 0.92).As("amount_eur"),
                            col("city"), col("_time")},
                           batch->schema())
          .ValueOrDie();
  auto project = Instantiate(project_options, &discard);
  class Forward : public Collector {
   public:
    explicit Forward(Operator* next) : next_(next) {}
    Status Collect(std::shared_ptr<arrow::RecordBatch> b) override {
      return next_->ProcessBatch(0, std::move(b));
    }
    Status EmitWatermark(int64_t) override { return Status::OK(); }

   private:
    Operator* next_;
  } forward(project.get());
  auto filter =
      Instantiate(FilterOptions::Make(col("amount") > 2500.0 && col("city") != "Paris",
                                      batch->schema())
                      .ValueOrDie(),
                  &forward);
  for (auto _ : state) {
    CheckOk(filter->ProcessBatch(0, batch));
  }
  state.SetItemsProcessed(state.iterations() * batch->num_rows());
}
BENCHMARK(BM_FilterProject);

}  // namespace
}  // namespace sabot
