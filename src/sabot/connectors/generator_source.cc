#include "sabot/connectors/generator_source.h"

#include <arrow/api.h>

#include <cmath>
#include <limits>
#include <thread>
#include <unordered_set>

#include "sabot/common/time.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/state/state_codec.h"

namespace sabot {

GeneratorConfig TransactionsGenerator(int64_t num_rows, uint64_t seed) {
  GeneratorConfig config;
  config.seed = seed;
  config.num_rows = num_rows;
  using Kind = GeneratorColumn::Kind;
  GeneratorColumn id{.name = "transaction_id", .kind = Kind::kSequence};
  GeneratorColumn account{
      .name = "account", .kind = Kind::kUniformInt, .int_min = 0, .int_max = 99'999};
  GeneratorColumn amount{.name = "amount",
                         .kind = Kind::kUniformDouble,
                         .double_min = 1,
                         .double_max = 5000,
                         .decimals = 2};
  GeneratorColumn city{
      .name = "city",
      .kind = Kind::kChoice,
      .choices = {"Amsterdam", "Berlin", "Lisbon", "London", "Madrid", "New York",
                  "Paris", "Rome", "San Francisco", "Singapore", "Tokyo", "Toronto"}};
  // 2026-01-01T00:00:00Z, one transaction per millisecond, up to 2 s late.
  GeneratorColumn time{.name = "_time",
                       .kind = Kind::kEventTime,
                       .start_millis = 1'767'225'600'000,
                       .step_millis = 1,
                       .max_delay_millis = 2000};
  config.columns = {id, account, amount, city, time};
  return config;
}

Result<std::shared_ptr<GeneratorOptions>> GeneratorOptions::Make(GeneratorConfig config) {
  if (config.columns.empty())
    return Status::Invalid("generator needs at least one column");
  if (config.batch_size <= 0) {
    return Status::Invalid("generator batch_size must be positive, got ",
                           config.batch_size);
  }
  if (!(config.rows_per_second >= 0) || !std::isfinite(config.rows_per_second)) {
    return Status::Invalid(
        "generator rows_per_second must be finite and >= 0 (0 = unlimited)");
  }
  std::unordered_set<std::string> names;
  arrow::FieldVector fields;
  using Kind = GeneratorColumn::Kind;
  for (const GeneratorColumn& column : config.columns) {
    if (!names.insert(column.name).second) {
      return Status::Invalid("generator column '", column.name, "' is defined twice");
    }
    switch (column.kind) {
      case Kind::kUniformInt:
        if (column.int_min > column.int_max) {
          return Status::Invalid("generator column '", column.name,
                                 "': int_min > int_max");
        }
        break;
      case Kind::kUniformDouble:
        if (!(column.double_min < column.double_max)) {
          return Status::Invalid("generator column '", column.name,
                                 "': double_min must be below double_max");
        }
        break;
      case Kind::kChoice:
        if (column.choices.empty()) {
          return Status::Invalid("generator column '", column.name, "' has no choices");
        }
        break;
      case Kind::kEventTime:
        if (column.max_delay_millis < 0 || column.step_millis < 0 ||
            column.rows_per_step < 1) {
          return Status::Invalid("generator column '", column.name,
                                 "': step and max delay must be >= 0 and rows per step "
                                 ">= 1");
        }
        break;
      case Kind::kSequence:
        break;
    }
    std::shared_ptr<arrow::DataType> type =
        column.kind == Kind::kUniformDouble ? arrow::float64()
        : column.kind == Kind::kChoice      ? arrow::utf8()
                                            : arrow::int64();
    fields.push_back(arrow::field(column.name, type, /*nullable=*/false));
  }
  auto schema = arrow::schema(std::move(fields));
  return std::shared_ptr<GeneratorOptions>(
      new GeneratorOptions(std::move(config), schema));
}

std::string GeneratorOptions::Describe() const {
  return "generator(" +
         (config_.num_rows < 0 ? std::string("unbounded")
                               : std::to_string(config_.num_rows) + " rows") +
         ", seed " + std::to_string(config_.seed) + ")";
}

namespace {

// SplitMix64: a fast, well-mixed hash of (seed, column, row).
inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Maps a uniform 64-bit hash to [0, span) by the high half of h × span: as uniform as
// h % span, without a 64-bit division per value.
inline uint64_t Below(uint64_t h, uint64_t span) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * span) >> 64);
}

class GeneratorReader : public SourceReader {
 public:
  GeneratorReader(const GeneratorOptions& options, const SourceContext& context)
      : config_(options.config()),
        schema_(options.schema()),
        subtask_(context.subtask),
        parallelism_(context.parallelism) {
    batch_size_ = config_.batch_size;
    if (config_.rows_per_second > 0) {
      rate_per_subtask_ = config_.rows_per_second / parallelism_;
      // Keep a batch to at most ~100 ms of data so rate limiting stays smooth.
      const double rows_per_100ms = std::min(rate_per_subtask_ / 10, double(batch_size_));
      batch_size_ = std::max<int64_t>(1, static_cast<int64_t>(rows_per_100ms));
    }
    next_batch_ = subtask_;
  }

  Status Open() override {
    start_nanos_ = MonotonicNanos();
    return Status::OK();
  }

  // Position: the next batch index and the rows emitted, with the layout that gives
  // batch indices their meaning (subtask, parallelism, batch size).
  Result<std::string> SnapshotPosition() override {
    std::string position;
    for (int64_t value : {next_batch_, emitted_rows_, int64_t{subtask_},
                          int64_t{parallelism_}, batch_size_}) {
      StateCodec<int64_t>::Append(value, &position);
    }
    return position;
  }

  Status RestorePosition(const std::string& position) override {
    std::string_view in = position;
    int64_t values[5];
    for (int64_t& value : values) {
      ARROW_ASSIGN_OR_RAISE(value, StateCodec<int64_t>::Read(&in));
    }
    if (values[2] != subtask_ || values[3] != parallelism_ || values[4] != batch_size_) {
      return Status::Invalid(
          "generator position was taken at subtask ", values[2], "/", values[3],
          " with batches of ", values[4],
          " rows; restore it with the same parallelism and batch size");
    }
    next_batch_ = values[0];
    emitted_rows_ = values[1];
    // The rate counts from here: rows emitted before the checkpoint were paced by the
    // run that emitted them.
    paced_from_rows_ = emitted_rows_;
    start_nanos_ = MonotonicNanos();
    return Status::OK();
  }

  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    // Batch k covers global rows [k × batch_size, (k + 1) × batch_size); subtask s
    // generates batches s, s + p, s + 2p, ...
    const int64_t first_row = next_batch_ * batch_size_;
    int64_t num_rows = batch_size_;
    if (config_.num_rows >= 0) {
      if (first_row >= config_.num_rows) return nullptr;
      num_rows = std::min(num_rows, config_.num_rows - first_row);
    }
    if (rate_per_subtask_ > 0 && !Throttle()) {
      // Not due yet: an empty batch lets the task check for cancellation and run its
      // mailbox while a slow rate keeps this subtask waiting.
      return arrow::RecordBatch::MakeEmpty(schema_);
    }
    next_batch_ += parallelism_;
    std::vector<std::shared_ptr<arrow::Array>> columns;
    for (size_t c = 0; c < config_.columns.size(); ++c) {
      ARROW_ASSIGN_OR_RAISE(auto column, MakeColumn(c, first_row, num_rows));
      columns.push_back(std::move(column));
    }
    emitted_rows_ += num_rows;
    return arrow::RecordBatch::Make(schema_, num_rows, std::move(columns));
  }

 private:
  // Sleeps until the next batch is due, at most 50 ms at a time; returns true when it is.
  bool Throttle() {
    constexpr double kMaxSleepSeconds = 0.05;
    const double due = (emitted_rows_ - paced_from_rows_) / rate_per_subtask_ -
                       (MonotonicNanos() - start_nanos_) / 1e9;
    if (due <= 0) return true;
    std::this_thread::sleep_for(
        std::chrono::duration<double>(std::min(due, kMaxSleepSeconds)));
    return due <= kMaxSleepSeconds;
  }

  Result<std::shared_ptr<arrow::Array>> MakeColumn(size_t c, int64_t first_row,
                                                   int64_t num_rows) {
    const GeneratorColumn& column = config_.columns[c];
    const uint64_t column_seed = Mix(config_.seed ^ (0x100000001b3ULL * (c + 1)));
    using Kind = GeneratorColumn::Kind;
    switch (column.kind) {
      case Kind::kSequence:
      case Kind::kUniformInt:
      case Kind::kEventTime: {
        ARROW_ASSIGN_OR_RAISE(auto buffer,
                              arrow::AllocateBuffer(num_rows * sizeof(int64_t)));
        auto* values = reinterpret_cast<int64_t*>(buffer->mutable_data());
        if (column.kind == Kind::kSequence) {
          for (int64_t i = 0; i < num_rows; ++i) values[i] = first_row + i;
        } else if (column.kind == Kind::kUniformInt) {
          // Unsigned arithmetic: the span of [INT64_MIN, INT64_MAX] wraps to 0 = all
          // values.
          const uint64_t span = static_cast<uint64_t>(column.int_max) -
                                static_cast<uint64_t>(column.int_min) + 1;
          for (int64_t i = 0; i < num_rows; ++i) {
            uint64_t h = Mix(column_seed ^ static_cast<uint64_t>(first_row + i));
            values[i] = static_cast<int64_t>(static_cast<uint64_t>(column.int_min) +
                                             (span == 0 ? h : Below(h, span)));
          }
        } else {
          const uint64_t span = static_cast<uint64_t>(column.max_delay_millis) + 1;
          // Step number and position within it, advanced without a division per row.
          uint64_t step = static_cast<uint64_t>(first_row / column.rows_per_step);
          int64_t in_step = first_row % column.rows_per_step;
          for (int64_t i = 0; i < num_rows; ++i) {
            uint64_t h = Mix(column_seed ^ static_cast<uint64_t>(first_row + i));
            values[i] = static_cast<int64_t>(
                static_cast<uint64_t>(column.start_millis) +
                step * static_cast<uint64_t>(column.step_millis) - Below(h, span));
            if (++in_step == column.rows_per_step) {
              in_step = 0;
              ++step;
            }
          }
        }
        return std::make_shared<arrow::Int64Array>(num_rows, std::move(buffer));
      }
      case Kind::kUniformDouble: {
        ARROW_ASSIGN_OR_RAISE(auto buffer,
                              arrow::AllocateBuffer(num_rows * sizeof(double)));
        auto* values = reinterpret_cast<double*>(buffer->mutable_data());
        const double scale = std::pow(10.0, column.decimals);
        const double width = column.double_max - column.double_min;
        for (int64_t i = 0; i < num_rows; ++i) {
          uint64_t h = Mix(column_seed ^ static_cast<uint64_t>(first_row + i));
          double unit = static_cast<double>(h >> 11) * 0x1.0p-53;
          values[i] = std::floor((column.double_min + unit * width) * scale) / scale;
        }
        return std::make_shared<arrow::DoubleArray>(num_rows, std::move(buffer));
      }
      case Kind::kChoice: {
        const auto& choices = column.choices;
        std::vector<uint32_t> picks(num_rows);
        int64_t total_bytes = 0;
        for (int64_t i = 0; i < num_rows; ++i) {
          uint64_t h = Mix(column_seed ^ static_cast<uint64_t>(first_row + i));
          picks[i] = static_cast<uint32_t>(Below(h, choices.size()));
          total_bytes += static_cast<int64_t>(choices[picks[i]].size());
        }
        if (total_bytes > std::numeric_limits<int32_t>::max()) {
          return Status::CapacityError(
              "generator column '", column.name,
              "' would exceed 2 GiB in one batch; lower batch_size");
        }
        ARROW_ASSIGN_OR_RAISE(auto offsets,
                              arrow::AllocateBuffer((num_rows + 1) * sizeof(int32_t)));
        ARROW_ASSIGN_OR_RAISE(auto data, arrow::AllocateBuffer(total_bytes));
        auto* offset_values = reinterpret_cast<int32_t*>(offsets->mutable_data());
        uint8_t* out = data->mutable_data();
        int32_t position = 0;
        for (int64_t i = 0; i < num_rows; ++i) {
          offset_values[i] = position;
          const std::string& value = choices[picks[i]];
          std::memcpy(out + position, value.data(), value.size());
          position += static_cast<int32_t>(value.size());
        }
        offset_values[num_rows] = position;
        return std::make_shared<arrow::StringArray>(num_rows, std::move(offsets),
                                                    std::move(data));
      }
    }
    return Status::Invalid("unknown generator column kind");
  }

  const GeneratorConfig& config_;
  std::shared_ptr<arrow::Schema> schema_;
  const int subtask_;
  const int parallelism_;
  int64_t batch_size_;
  int64_t next_batch_;
  double rate_per_subtask_ = 0;
  int64_t start_nanos_ = 0;
  int64_t emitted_rows_ = 0;
  int64_t paced_from_rows_ = 0;  // emitted_rows_ when pacing started (open or restore)
};

}  // namespace

Status RegisterGeneratorSource(OperatorRegistry* registry) {
  return registry->AddSource(
      "generator",
      [](const NodeOptions& options,
         const SourceContext& context) -> Result<std::unique_ptr<SourceReader>> {
        ARROW_ASSIGN_OR_RAISE(auto* typed, CheckedOptionsCast<GeneratorOptions>(options));
        return std::make_unique<GeneratorReader>(*typed, context);
      });
}

}  // namespace sabot
