// The stateful job of the crash test (run_crash_test.py): keyed counts and timers in a
// keyed process function, a tumbling-window aggregation, both written through the
// exactly-once file sink, reading a deterministic, replayable generator. Every start
// restores the newest complete checkpoint of <work>/checkpoints, so the test can kill
// it with SIGKILL at any moment and start it again; the committed output must equal
// that of an uninterrupted run.
//
//   sabot_crash_job --work DIR [--backend memory|rocksdb] [--rows N] [--rate ROWS_PER_S]
//                   [--checkpoint-ms MS] [--parallelism P] [--accounts N]
//                   [--report-first-output 1]
//
// --report-first-output prints {"first_output_unix_ms": ...} when the process function
// emits its first result (the recovery benchmark measures kill → first output with it).
//
// Output: DIR/out/windows/part-*.jsonl and DIR/out/counts/part-*.jsonl (committed
// files; in-progress files are hidden dot-files). Prints one JSON line when done.
#include <sabot/common/time.h>
#include <sabot/sabot.h>

#include "jobs/job_flags.h"

#include <arrow/api.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using sabot::KeyedProcessContext;
using sabot::Status;

struct Options {
  std::string work;
  sabot::StateBackendKind backend = sabot::StateBackendKind::kMemory;
  int64_t rows = 300'000;
  double rate = 30'000;
  int64_t checkpoint_ms = 200;
  int parallelism = 2;
  int64_t accounts = 200;
  bool report_first_output = false;
};

// Set once by main(); read by the process function instances.
bool report_first_output = false;
std::atomic<bool> first_output_reported{false};

std::shared_ptr<arrow::Schema> CountsSchema() {
  return arrow::schema({arrow::field("account", arrow::int64()),
                        arrow::field("bucket_end", arrow::int64()),
                        arrow::field("rows", arrow::int64()),
                        arrow::field("total", arrow::int64())});
}

// Per account: counts rows per 500 ms bucket of event time (MapState) and, when the
// watermark passes a bucket (an event-time timer), emits the bucket's count and the
// account's running total (ValueState). Deterministic for input that is never late.
class BucketCounter : public sabot::KeyedProcessFunction {
 public:
  static constexpr int64_t kBucket = 500;

  Status Open(KeyedProcessContext& context) override {
    auto pending = sabot::MakeMapState<int64_t, int64_t>(context.state_backend(),
                                                         {"pending_buckets"});
    ARROW_RETURN_NOT_OK(pending.status());
    pending_ = std::move(pending).ValueOrDie();
    ARROW_ASSIGN_OR_RAISE(
        totals_, sabot::MakeValueState<int64_t>(context.state_backend(), {"total_rows"}));
    return Status::OK();
  }

  Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch,
                      const uint32_t* key_ids, KeyedProcessContext& context) override {
    auto times =
        std::static_pointer_cast<arrow::Int64Array>(batch->GetColumnByName("_time"));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      const int64_t bucket_end = (times->Value(i) / kBucket + 1) * kBucket;
      const sabot::StateKey key = context.state_key(key_ids[i]);
      ARROW_ASSIGN_OR_RAISE(auto count, pending_->Get(key, bucket_end));
      ARROW_RETURN_NOT_OK(pending_->Put(key, bucket_end, count.value_or(0) + 1));
      context.RegisterEventTimeTimer(key_ids[i], bucket_end - 1);
    }
    return Status::OK();
  }

  Status OnTimer(sabot::TimeDomain, const sabot::Timer& timer,
                 KeyedProcessContext& context) override {
    const sabot::StateKey key = context.state_key(timer.key);
    const int64_t bucket_end = timer.timestamp + 1;
    ARROW_ASSIGN_OR_RAISE(auto count, pending_->Get(key, bucket_end));
    if (!count) return Status::Invalid("timer without a bucket");
    ARROW_RETURN_NOT_OK(pending_->Remove(key, bucket_end));
    ARROW_ASSIGN_OR_RAISE(auto total, totals_->Get(key));
    const int64_t new_total = total.value_or(0) + *count;
    ARROW_RETURN_NOT_OK(totals_->Update(key, new_total));
    if (report_first_output && !first_output_reported.exchange(true)) {
      std::printf("{\"first_output_unix_ms\": %lld}\n",
                  static_cast<long long>(sabot::WallClockMillis()));
      std::fflush(stdout);
    }
    ARROW_ASSIGN_OR_RAISE(auto keys, context.Keys({timer.key}));
    arrow::Int64Builder ends, rows, totals;
    ARROW_RETURN_NOT_OK(ends.Append(bucket_end));
    ARROW_RETURN_NOT_OK(rows.Append(*count));
    ARROW_RETURN_NOT_OK(totals.Append(new_total));
    std::shared_ptr<arrow::Array> e, r, t;
    ARROW_RETURN_NOT_OK(ends.Finish(&e));
    ARROW_RETURN_NOT_OK(rows.Finish(&r));
    ARROW_RETURN_NOT_OK(totals.Finish(&t));
    return context.Emit(arrow::RecordBatch::Make(CountsSchema(), 1, {keys[0], e, r, t}));
  }

 private:
  std::unique_ptr<sabot::MapState<int64_t, int64_t>> pending_;
  std::unique_ptr<sabot::ValueState<int64_t>> totals_;
};

arrow::Status Run(const Options& options) {
  sabot::GeneratorConfig input;
  input.num_rows = options.rows;
  input.rows_per_second = options.rate;
  input.batch_size = 500;
  input.seed = 7;
  input.columns = {
      {.name = "id", .kind = sabot::GeneratorColumn::Kind::kSequence},
      {.name = "account",
       .kind = sabot::GeneratorColumn::Kind::kUniformInt,
       .int_min = 0,
       .int_max = options.accounts - 1},
      {.name = "amount",
       .kind = sabot::GeneratorColumn::Kind::kUniformInt,
       .int_min = 1,
       .int_max = 1000},
      // 1 ms of event time per row, up to 50 ms out of order.
      {.name = "_time",
       .kind = sabot::GeneratorColumn::Kind::kEventTime,
       .start_millis = 0,
       .step_millis = 1,
       .max_delay_millis = 50},
  };

  sabot::StreamEnvironment env;
  env.SetParallelism(options.parallelism);
  sabot::CheckpointConfig checkpoints;
  checkpoints.directory = options.work + "/checkpoints";
  checkpoints.interval_ms = options.checkpoint_ms;
  checkpoints.restore = true;
  env.EnableCheckpointing(checkpoints);
  sabot::StateBackendConfig state;
  state.kind = options.backend;
  state.directory = options.work + "/state";
  env.SetStateBackend(state);

  auto events = env.FromGenerator(input);
  events.SetParallelism(1);
  // The bound covers the generator's disorder, so no row is ever late and every
  // result is a function of the input alone.
  auto timed = events.AssignTimestampsAndWatermarks(
      sabot::WatermarkStrategy::BoundedOutOfOrderness("_time", 50));
  timed.SetParallelism(1);
  timed.KeyBy({"account"})
      .Window(sabot::Tumbling(std::chrono::milliseconds(1000)))
      .Aggregate({sabot::Count(), sabot::Sum("amount")})
      .WriteFiles({sabot::FileFormat::kJsonLines, options.work + "/out/windows",
                   /*exactly_once=*/true});
  timed.KeyBy({"account"})
      .Process(
          "bucket_counter", [] { return std::make_unique<BucketCounter>(); },
          CountsSchema())
      .WriteFiles({sabot::FileFormat::kJsonLines, options.work + "/out/counts",
                   /*exactly_once=*/true});

  ARROW_ASSIGN_OR_RAISE(auto job, env.ExecuteAsync());
  return sabot::testing::WaitAndReport(*job);
}

int Usage(const char* problem) {
  std::fprintf(stderr,
               "sabot_crash_job: %s\n"
               "usage: sabot_crash_job --work DIR [--backend memory|rocksdb] [--rows N] "
               "[--rate ROWS_PER_S] [--checkpoint-ms MS] [--parallelism P] "
               "[--accounts N] [--report-first-output 1]\n",
               problem);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string backend = "memory";
  int report_first_output_flag = 0;
  sabot::testing::JobFlags flags;
  flags.Add("--work", &options.work);
  flags.Add("--backend", &backend);
  flags.Add("--rows", &options.rows);
  flags.Add("--rate", &options.rate);
  flags.Add("--checkpoint-ms", &options.checkpoint_ms);
  flags.Add("--accounts", &options.accounts);
  flags.Add("--report-first-output", &report_first_output_flag);
  flags.Add("--parallelism", &options.parallelism);
  arrow::Status parsed = flags.Parse(argc, argv);
  if (!parsed.ok()) return Usage(parsed.message().c_str());
  if (backend == "memory") {
    options.backend = sabot::StateBackendKind::kMemory;
  } else if (backend == "rocksdb") {
    options.backend = sabot::StateBackendKind::kRocksDb;
  } else {
    return Usage("--backend must be memory or rocksdb");
  }
  options.report_first_output = report_first_output_flag == 1;
  if (options.work.empty()) return Usage("--work is required");
  if (options.accounts < 1) return Usage("--accounts must be at least 1");
  report_first_output = options.report_first_output;
  arrow::Status status = Run(options);
  if (!status.ok()) {
    std::fprintf(stderr, "sabot_crash_job: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
