// Checkpoint benchmark, printed as JSON lines:
//
// 1. "job": a keyed tumbling-window job (generator → watermarks → key by → 10 s windows
//    of count/sum/max over 10 K keys → blackhole) run without checkpoints, with a
//    checkpoint every second and every 100 ms, back to back on the same input; reports
//    rows per CPU second and wall second, the slowdown against the run without
//    checkpoints, and, from the coordinator's statistics, the barrier injection time
//    at the source (trigger action to barrier emitted: position snapshot included), the
//    time from the trigger being posted to the barrier leaving the source (mailbox wait
//    included), the longest synchronous snapshot and the checkpoint duration.
// 2. "state_size": RocksDB state of 10 MB, 100 MB and (optionally) 1 GB of 1 KiB values;
//    the first (full) incremental checkpoint, then one after updating 1% of the keys:
//    synchronous part (flush + hard links), upload to checkpoint storage and bytes
//    uploaded; and the full canonical snapshot a savepoint takes, for comparison.
//
// Usage: checkpoint_benchmark [job rows (default 100000000)] [largest state MB
//        (default 100; 1024 for the 1 GB case)]
#include <sabot/checkpoint/checkpoint_storage.h>
#include <sabot/common/time.h>
#include <sabot/sabot.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

std::string TempDirectory(const std::string& what) {
  return (fs::temp_directory_path() / ("sabot-checkpoint-benchmark-" + what + "-" +
                                       std::to_string(sabot::MonotonicNanos())))
      .string();
}

sabot::GeneratorConfig Events(int64_t rows) {
  using Kind = sabot::GeneratorColumn::Kind;
  sabot::GeneratorConfig config;
  config.num_rows = rows;
  config.columns = {
      {.name = "key", .kind = Kind::kUniformInt, .int_min = 0, .int_max = 9'999},
      {.name = "price", .kind = Kind::kUniformDouble, .double_min = 1, .double_max = 100},
      {.name = "_time",
       .kind = Kind::kEventTime,
       .step_millis = 1,
       .max_delay_millis = 1000,
       .rows_per_step = 100}};
  return config;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index =
      std::min(values.size() - 1, static_cast<size_t>(p * (values.size() - 1) + 0.5));
  return values[index];
}

struct JobRun {
  double wall_seconds = 0;
  double cpu_seconds = 0;
  std::vector<sabot::CheckpointStats> stats;
};

arrow::Result<JobRun> RunJob(int64_t rows, int64_t interval_ms, double rate = 0) {
  sabot::StreamEnvironment env;
  const std::string directory = TempDirectory("job");
  if (interval_ms > 0) {
    sabot::CheckpointConfig config;
    config.directory = directory;
    config.interval_ms = interval_ms;
    config.retain = 1;
    env.EnableCheckpointing(config);
  }
  sabot::GeneratorConfig events = Events(rows);
  events.rows_per_second = rate;
  if (rate > 0) events.batch_size = 1000;
  env.FromGenerator(events)
      .AssignTimestampsAndWatermarks(
          sabot::WatermarkStrategy::BoundedOutOfOrderness("_time", 1000))
      .KeyBy({"key"})
      .Window(sabot::Tumbling(milliseconds(10'000)))
      .Aggregate({sabot::Count(), sabot::Sum("price"), sabot::Max("price")})
      .Blackhole();
  const int64_t start = sabot::MonotonicNanos();
  const double cpu_start = sabot::ProcessCpuSeconds();
  ARROW_ASSIGN_OR_RAISE(auto job, env.ExecuteAsync());
  ARROW_RETURN_NOT_OK(job->Wait());
  JobRun run;
  run.wall_seconds = (sabot::MonotonicNanos() - start) / 1e9;
  run.cpu_seconds = sabot::ProcessCpuSeconds() - cpu_start;
  if (job->checkpoints() != nullptr) run.stats = job->checkpoints()->stats();
  fs::remove_all(directory);
  return run;
}

// Prints the checkpoint statistics of `run` against `baseline` (no checkpoints).
void PrintJob(const char* name, int64_t rows, int64_t interval, const JobRun& baseline,
              const JobRun& run) {
  {
    std::vector<double> injection, trigger, sync, duration;
    for (const auto& stats : run.stats) {
      injection.push_back(stats.max_injection_us);
      trigger.push_back(stats.max_trigger_to_barrier_us);
      sync.push_back(stats.max_sync_ms);
      duration.push_back(stats.duration_ms);
    }
    std::printf(
        "{\"case\": \"%s\", \"checkpoint_interval_ms\": %lld, \"rows\": %lld, "
        "\"checkpoints\": %zu, \"rows_per_cpu_second\": %.0f, "
        "\"rows_per_wall_second\": %.0f, \"cpu_seconds\": %.3f, "
        "\"slowdown_vs_no_checkpoints\": %.3f, \"barrier_injection_us_p50\": %.2f, "
        "\"barrier_injection_us_p99\": %.2f, \"trigger_to_barrier_us_p50\": %.1f, "
        "\"trigger_to_barrier_us_p99\": %.1f, \"sync_ms_p50\": %.3f, "
        "\"sync_ms_max\": %.3f, \"checkpoint_ms_p50\": %.2f, \"checkpoint_ms_max\": "
        "%.2f}\n",
        name, static_cast<long long>(interval), static_cast<long long>(rows),
        run.stats.size(), rows / run.cpu_seconds, rows / run.wall_seconds,
        run.cpu_seconds, (rows / baseline.cpu_seconds) / (rows / run.cpu_seconds) - 1,
        Percentile(injection, 0.5), Percentile(injection, 0.99), Percentile(trigger, 0.5),
        Percentile(trigger, 0.99), Percentile(sync, 0.5), Percentile(sync, 1.0),
        Percentile(duration, 0.5), Percentile(duration, 1.0));
    std::fflush(stdout);
  }
}

arrow::Status JobCases(int64_t rows) {
  ARROW_ASSIGN_OR_RAISE(JobRun baseline, RunJob(rows, 0));
  PrintJob("job", rows, 0, baseline, baseline);
  for (int64_t interval : {int64_t{1000}, int64_t{100}}) {
    ARROW_ASSIGN_OR_RAISE(JobRun run, RunJob(rows, interval));
    PrintJob("job", rows, interval, baseline, run);
  }
  // Without backpressure (the source is rate-limited to 2 M rows/s, the job keeps up),
  // a barrier is not queued behind full channels: this is the injection cost itself.
  constexpr int64_t kThrottledRows = 4'000'000;
  ARROW_ASSIGN_OR_RAISE(JobRun throttled, RunJob(kThrottledRows, 10, 2e6));
  PrintJob("job_rate_limited", kThrottledRows, 10, throttled, throttled);
  return arrow::Status::OK();
}

struct Upload {
  double seconds = 0;
  int64_t bytes = 0;
};

// What the coordinator does with a snapshot: shared files copied unless present, the
// handle written, the manifest committed.
arrow::Result<Upload> Store(sabot::CheckpointStorage* storage, int64_t id,
                            const std::string& handle,
                            const std::vector<sabot::SharedStateFile>& files) {
  Upload upload;
  for (const auto& file : files) {
    if (!fs::exists(storage->SharedDirectory() + "/" + file.name)) {
      upload.bytes += static_cast<int64_t>(fs::file_size(file.local_path));
    }
  }
  upload.bytes += static_cast<int64_t>(handle.size());
  const int64_t start = sabot::MonotonicNanos();
  ARROW_ASSIGN_OR_RAISE(auto writer, storage->Begin(id));
  for (const auto& file : files) ARROW_RETURN_NOT_OK(writer->AddSharedFile(file));
  ARROW_RETURN_NOT_OK(writer->WriteFile("state", handle));
  ARROW_RETURN_NOT_OK(writer->Commit().status());
  upload.seconds = (sabot::MonotonicNanos() - start) / 1e9;
  return upload;
}

arrow::Status StateSizeCase(int64_t megabytes) {
  constexpr int32_t kMaxParallelism = 128;
  constexpr size_t kValueBytes = 1024;
  const int64_t keys = megabytes * 1024;
  const std::string root = TempDirectory("state");
  sabot::StateBackendConfig config;
  config.kind = sabot::StateBackendKind::kRocksDb;
  config.directory = root + "/db";
  ARROW_ASSIGN_OR_RAISE(
      auto backend,
      sabot::KeyedStateBackend::Make(config, kMaxParallelism, {0, kMaxParallelism - 1}));
  ARROW_ASSIGN_OR_RAISE(auto values,
                        sabot::MakeValueState<std::string>(backend.get(), {"values"}));
  std::vector<std::string> key_bytes(keys);
  std::string value(kValueBytes, 'x');
  for (int64_t i = 0; i < keys; ++i) {
    key_bytes[i].assign(reinterpret_cast<const char*>(&i), sizeof(i));
    std::memcpy(value.data(), &i, sizeof(i));  // distinct values: no compression gain
    for (size_t b = 8; b < kValueBytes; b += 8) {
      const uint64_t mixed = (i + 1) * 0x9E3779B97F4A7C15ull * (b + 1);
      std::memcpy(value.data() + b, &mixed, sizeof(mixed));
    }
    ARROW_RETURN_NOT_OK(
        values->Update({static_cast<int32_t>(i % kMaxParallelism), key_bytes[i]}, value));
  }
  ARROW_ASSIGN_OR_RAISE(auto storage,
                        sabot::CheckpointStorage::Open(root + "/checkpoints", 2));

  auto checkpoint = [&](int64_t id) -> arrow::Status {
    std::string handle;
    std::vector<sabot::SharedStateFile> files;
    const int64_t start = sabot::MonotonicNanos();
    ARROW_RETURN_NOT_OK(backend->SnapshotForCheckpoint(id, &handle, &files));
    const double sync_seconds = (sabot::MonotonicNanos() - start) / 1e9;
    ARROW_ASSIGN_OR_RAISE(Upload upload, Store(storage.get(), id, handle, files));
    backend->NotifyCheckpointComplete(id);
    std::printf(
        "{\"case\": \"state_size\", \"state_mb\": %lld, \"checkpoint\": \"%s\", "
        "\"sync_ms\": %.1f, \"upload_ms\": %.1f, \"total_ms\": %.1f, "
        "\"uploaded_mb\": %.1f, \"sst_files\": %zu}\n",
        static_cast<long long>(megabytes),
        id == 1 ? "incremental_first" : "incremental_after_1pct_update",
        sync_seconds * 1e3, upload.seconds * 1e3, (sync_seconds + upload.seconds) * 1e3,
        upload.bytes / 1048576.0, files.size());
    std::fflush(stdout);
    return arrow::Status::OK();
  };
  ARROW_RETURN_NOT_OK(checkpoint(1));
  for (int64_t i = 0; i < keys; i += 100) {
    value[9] ^= 1;
    ARROW_RETURN_NOT_OK(
        values->Update({static_cast<int32_t>(i % kMaxParallelism), key_bytes[i]}, value));
  }
  ARROW_RETURN_NOT_OK(checkpoint(2));

  std::string full;
  const int64_t start = sabot::MonotonicNanos();
  ARROW_RETURN_NOT_OK(backend->Snapshot(&full));
  const double seconds = (sabot::MonotonicNanos() - start) / 1e9;
  std::printf(
      "{\"case\": \"state_size\", \"state_mb\": %lld, \"checkpoint\": "
      "\"full_canonical (savepoint)\", \"sync_ms\": %.1f, \"bytes_mb\": %.1f}\n",
      static_cast<long long>(megabytes), seconds * 1e3, full.size() / 1048576.0);
  std::fflush(stdout);
  backend.reset();
  fs::remove_all(root);
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 100'000'000;
  const int64_t largest_mb = argc > 2 ? std::atoll(argv[2]) : 100;
  arrow::Status status = JobCases(rows);
  for (int64_t megabytes : {int64_t{10}, int64_t{100}, int64_t{1024}}) {
    if (!status.ok() || megabytes > largest_mb) break;
    status = StateSizeCase(megabytes);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "checkpoint_benchmark: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
