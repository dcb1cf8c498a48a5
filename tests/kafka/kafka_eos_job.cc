// The stateful Kafka -> Sabot -> Kafka job of the exactly-once test
// (run_kafka_eos_test.py): per account, a running count and total of the input
// transactions (keyed state), one output row per input row, written through the
// exactly-once Kafka sink. Every start restores the newest complete checkpoint of
// <work>/checkpoints, so the test can kill it with SIGKILL at any moment.
//
//   sabot_kafka_eos_job --bootstrap HOST:PORT --input TOPIC --output TOPIC --work DIR
//                       [--checkpoint-ms MS] [--parallelism P] [--rate ROWS_PER_S]
//                       [--prefix TRANSACTIONAL_ID_PREFIX]
//
// Input values: {"id": int, "account": int, "amount": int}. Output values:
// {"id", "account", "seq", "total"}: the row is the account's seq-th, and total sums
// the amounts of its first seq rows. Prints one JSON line when the input is done.
#include <sabot/sabot.h>

#include "jobs/job_flags.h"

#include <arrow/api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

using sabot::KeyedProcessContext;
using sabot::Status;

struct Options {
  std::string bootstrap;
  std::string input;
  std::string output;
  std::string work;
  std::string prefix = "sabot-eos-test";
  int64_t checkpoint_ms = 200;
  int parallelism = 2;
  double rate = 20'000;
};

std::shared_ptr<arrow::Schema> InputSchema() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("account", arrow::int64()),
                        arrow::field("amount", arrow::int64())});
}

std::shared_ptr<arrow::Schema> OutputSchema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("account", arrow::int64()),
       arrow::field("seq", arrow::int64()), arrow::field("total", arrow::int64())});
}

class RunningTotals : public sabot::KeyedProcessFunction {
 public:
  Status Open(KeyedProcessContext& context) override {
    ARROW_ASSIGN_OR_RAISE(
        counts_, sabot::MakeValueState<int64_t>(context.state_backend(), {"count"}));
    ARROW_ASSIGN_OR_RAISE(
        totals_, sabot::MakeValueState<int64_t>(context.state_backend(), {"total"}));
    return Status::OK();
  }

  Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch,
                      const uint32_t* key_ids, KeyedProcessContext& context) override {
    const auto& amounts = static_cast<const arrow::Int64Array&>(*batch->column(2));
    arrow::Int64Builder seqs, totals;
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      const sabot::StateKey key = context.state_key(key_ids[i]);
      ARROW_ASSIGN_OR_RAISE(auto count, counts_->Get(key));
      ARROW_ASSIGN_OR_RAISE(auto total, totals_->Get(key));
      const int64_t new_count = count.value_or(0) + 1;
      const int64_t new_total = total.value_or(0) + amounts.Value(i);
      ARROW_RETURN_NOT_OK(counts_->Update(key, new_count));
      ARROW_RETURN_NOT_OK(totals_->Update(key, new_total));
      ARROW_RETURN_NOT_OK(seqs.Append(new_count));
      ARROW_RETURN_NOT_OK(totals.Append(new_total));
    }
    std::shared_ptr<arrow::Array> seq_array, total_array;
    ARROW_RETURN_NOT_OK(seqs.Finish(&seq_array));
    ARROW_RETURN_NOT_OK(totals.Finish(&total_array));
    return context.Emit(arrow::RecordBatch::Make(
        OutputSchema(), batch->num_rows(),
        {batch->column(0), batch->column(1), seq_array, total_array}));
  }

 private:
  std::unique_ptr<sabot::ValueState<int64_t>> counts_;
  std::unique_ptr<sabot::ValueState<int64_t>> totals_;
};

arrow::Status Run(const Options& options) {
  sabot::StreamEnvironment env;
  env.SetParallelism(options.parallelism);
  sabot::CheckpointConfig checkpoints;
  checkpoints.directory = options.work + "/checkpoints";
  checkpoints.interval_ms = options.checkpoint_ms;
  checkpoints.restore = true;
  env.EnableCheckpointing(checkpoints);

  sabot::KafkaSourceConfig source;
  source.bootstrap_servers = options.bootstrap;
  source.topics = {options.input};
  source.schema = InputSchema();
  source.bounded = true;
  source.batch_size = 200;
  source.max_batch_delay_ms = 20;
  // Paces the job so that kills land while it runs: each subtask sleeps off the time
  // its share of the rate allows for a batch.
  const double rate_per_subtask = options.rate / options.parallelism;
  auto paced = env.FromKafka(source).Map("pace", [rate_per_subtask](const auto& batch) {
    std::this_thread::sleep_for(std::chrono::microseconds(
        static_cast<int64_t>(1e6 * batch->num_rows() / rate_per_subtask)));
    return arrow::Result<std::shared_ptr<arrow::RecordBatch>>(batch);
  });

  sabot::KafkaSinkConfig sink;
  sink.bootstrap_servers = options.bootstrap;
  sink.topic = options.output;
  sink.key_columns = {"account"};
  sink.guarantee = sabot::KafkaDeliveryGuarantee::kExactlyOnce;
  sink.transactional_id_prefix = options.prefix;
  paced.KeyBy({"account"})
      .Process(
          "running_totals", [] { return std::make_unique<RunningTotals>(); },
          OutputSchema())
      .WriteKafka(sink);

  ARROW_ASSIGN_OR_RAISE(auto job, env.ExecuteAsync());
  return sabot::testing::WaitAndReport(*job);
}

int Usage(const char* problem) {
  std::fprintf(stderr,
               "sabot_kafka_eos_job: %s\n"
               "usage: sabot_kafka_eos_job --bootstrap HOST:PORT --input TOPIC --output "
               "TOPIC --work DIR [--checkpoint-ms MS] [--parallelism P] "
               "[--rate ROWS_PER_S] [--prefix PREFIX]\n",
               problem);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  sabot::testing::JobFlags flags;
  flags.Add("--bootstrap", &options.bootstrap);
  flags.Add("--input", &options.input);
  flags.Add("--output", &options.output);
  flags.Add("--work", &options.work);
  flags.Add("--prefix", &options.prefix);
  flags.Add("--checkpoint-ms", &options.checkpoint_ms);
  flags.Add("--parallelism", &options.parallelism);
  flags.Add("--rate", &options.rate);
  arrow::Status parsed = flags.Parse(argc, argv);
  if (!parsed.ok()) return Usage(parsed.message().c_str());
  if (options.bootstrap.empty() || options.input.empty() || options.output.empty() ||
      options.work.empty()) {
    return Usage("--bootstrap, --input, --output and --work are required");
  }
  if (options.parallelism < 1 || options.rate <= 0) {
    return Usage("--parallelism and --rate must be positive");
  }
  arrow::Status status = Run(options);
  if (!status.ok()) {
    std::fprintf(stderr, "sabot_kafka_eos_job: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
