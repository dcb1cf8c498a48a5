// The fraud rules of examples/fraud_rules.py (VELOCITY, AMOUNT_ANOMALY, GEO_IMPOSSIBLE)
// as a C++ KeyedProcessFunction keyed by account_number. Each account's history lives in
// the job's keyed state backend (a ValueState of AccountHistory, memory or RocksDB), so
// it is checkpointed like any other keyed state.
//
//   fraud_detection --input transactions.jsonl --output out/alerts [--parallelism P]
//                   [--state memory|rocksdb]
//       reads JSON lines (account_number, transaction_amount, currency, branch_city,
//       timestamp_ms, transaction_id; other fields are ignored), writes the alerts as
//       JSON lines to out/alerts/part-*.jsonl and prints one JSON summary line.
//   fraud_detection --benchmark N [--parallelism P] [--state memory|rocksdb]
//       generates N transactions in memory (not timed), runs the job to a blackhole and
//       prints one JSON line with the throughput.
//   --checkpoint-dir DIR [--checkpoint-interval-ms MS] takes checkpoints while running.
//
// Per transaction, in this order, then the account's history is updated:
// - VELOCITY (HIGH): at least 2 earlier transactions less than 60 000 ms before.
// - AMOUNT_ANOMALY: with at least 5 earlier transactions, |z| > 3 against their
//   population mean and standard deviation (Welford); CRITICAL if z > 4, else HIGH.
// - GEO_IMPOSSIBLE (CRITICAL): the previous transaction's city differs and less than
//   10 minutes passed (haversine distance in the message).
// Messages are formatted like the Python f-strings ({:.2f} etc. and printf's %.2f both
// round the exact binary value half to even).
#include <sabot/sabot.h>

#include <arrow/api.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fraud {

constexpr int64_t kVelocityWindowMs = 60'000;
constexpr uint32_t kVelocityMinEarlier = 2;
constexpr int64_t kAnomalyMinEarlier = 5;
constexpr double kAnomalyZ = 3.0;
constexpr double kAnomalyCriticalZ = 4.0;
constexpr int64_t kGeoWindowMs = 10 * 60'000;
constexpr double kEarthRadiusKm = 6371.0;
constexpr double kPi = 3.141592653589793;  // Py_MATH_PI

struct City {
  const char* name;
  double lat;
  double lon;
  const char* currency;
};

// The CITIES of examples/fraud_rules.py (and the currencies of examples/fraud_app.py).
constexpr std::array<City, 20> kCities = {{
    {"New York", 40.7128, -74.0060, "USD"},    {"Los Angeles", 34.0522, -118.2437, "USD"},
    {"Chicago", 41.8781, -87.6298, "USD"},     {"Toronto", 43.6532, -79.3832, "CAD"},
    {"Mexico City", 19.4326, -99.1332, "MXN"}, {"São Paulo", -23.5505, -46.6333, "BRL"},
    {"London", 51.5074, -0.1278, "GBP"},       {"Paris", 48.8566, 2.3522, "EUR"},
    {"Berlin", 52.5200, 13.4050, "EUR"},       {"Madrid", 40.4168, -3.7038, "EUR"},
    {"Rome", 41.9028, 12.4964, "EUR"},         {"Amsterdam", 52.3676, 4.9041, "EUR"},
    {"Zurich", 47.3769, 8.5417, "CHF"},        {"Stockholm", 59.3293, 18.0686, "SEK"},
    {"Dubai", 25.2048, 55.2708, "AED"},        {"Mumbai", 19.0760, 72.8777, "INR"},
    {"Singapore", 1.3521, 103.8198, "SGD"},    {"Hong Kong", 22.3193, 114.1694, "HKD"},
    {"Tokyo", 35.6762, 139.6503, "JPY"},       {"Sydney", -33.8688, 151.2093, "AUD"},
}};

const City* FindCity(std::string_view name) {
  for (const City& city : kCities) {
    if (name == city.name) return &city;
  }
  return nullptr;
}

// As Python's math.radians (x * (pi / 180)) and fraud_rules.haversine_km, operation for
// operation, so that the distances are the same doubles.
double Radians(double degrees) { return degrees * (kPi / 180.0); }

double HaversineKm(const City& a, const City& b) {
  const double lat1 = Radians(a.lat), lon1 = Radians(a.lon);
  const double lat2 = Radians(b.lat), lon2 = Radians(b.lon);
  const double h =
      std::pow(std::sin((lat2 - lat1) / 2), 2.0) +
      std::cos(lat1) * std::cos(lat2) * std::pow(std::sin((lon2 - lon1) / 2), 2.0);
  return 2 * kEarthRadiusKm * std::asin(std::sqrt(h));
}

/// One account's history: recent timestamps (those less than 60 s before every later
/// transaction, for velocity), count, mean and M2 of the amounts (Welford, for the
/// population variance), previous city and time. The first few recent timestamps are
/// stored inline so that copying a history (state reads and writes) rarely allocates.
struct AccountHistory {
  static constexpr uint32_t kInlineRecent = 6;

  int64_t count = 0;
  double mean = 0.0;
  double m2 = 0.0;
  bool has_previous = false;
  int64_t previous_ts = 0;
  std::string previous_city;
  uint32_t num_recent = 0;
  std::array<int64_t, kInlineRecent> recent{};
  std::vector<int64_t> more_recent;  // recent timestamps beyond the inline ones

  int64_t RecentAt(uint32_t i) const {
    return i < kInlineRecent ? recent[i] : more_recent[i - kInlineRecent];
  }
  void SetRecent(uint32_t i, int64_t ts) {
    if (i < kInlineRecent) {
      recent[i] = ts;
    } else {
      more_recent[i - kInlineRecent] = ts;
    }
  }
  /// Keeps the recent timestamps less than the velocity window before `ts` (in order);
  /// returns how many there are.
  uint32_t PruneRecent(int64_t ts) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < num_recent; ++i) {
      const int64_t t = RecentAt(i);
      if (ts - t < kVelocityWindowMs) SetRecent(kept++, t);
    }
    num_recent = kept;
    more_recent.resize(kept > kInlineRecent ? kept - kInlineRecent : 0);
    return kept;
  }
  void AddRecent(int64_t ts) {
    if (num_recent < kInlineRecent) {
      recent[num_recent] = ts;
    } else {
      more_recent.push_back(ts);
    }
    ++num_recent;
  }
};

}  // namespace fraud

namespace sabot {

// count i64 | mean f64 | m2 f64 | has_previous u8 | previous_ts i64 | previous_city
// string | recent count u32 | recent timestamps i64...
template <>
struct StateCodec<fraud::AccountHistory> {
  static void Append(const fraud::AccountHistory& h, std::string* out) {
    StateCodec<int64_t>::Append(h.count, out);
    StateCodec<double>::Append(h.mean, out);
    StateCodec<double>::Append(h.m2, out);
    StateCodec<uint8_t>::Append(h.has_previous ? 1 : 0, out);
    StateCodec<int64_t>::Append(h.previous_ts, out);
    StateCodec<std::string>::Append(h.previous_city, out);
    StateCodec<uint32_t>::Append(h.num_recent, out);
    for (uint32_t i = 0; i < h.num_recent; ++i) {
      StateCodec<int64_t>::Append(h.RecentAt(i), out);
    }
  }
  static Result<fraud::AccountHistory> Read(std::string_view* in) {
    fraud::AccountHistory h;
    ARROW_ASSIGN_OR_RAISE(h.count, StateCodec<int64_t>::Read(in));
    ARROW_ASSIGN_OR_RAISE(h.mean, StateCodec<double>::Read(in));
    ARROW_ASSIGN_OR_RAISE(h.m2, StateCodec<double>::Read(in));
    ARROW_ASSIGN_OR_RAISE(uint8_t has_previous, StateCodec<uint8_t>::Read(in));
    if (has_previous > 1) return Status::IOError("account history: bad previous flag");
    h.has_previous = has_previous == 1;
    ARROW_ASSIGN_OR_RAISE(h.previous_ts, StateCodec<int64_t>::Read(in));
    ARROW_ASSIGN_OR_RAISE(h.previous_city, StateCodec<std::string>::Read(in));
    ARROW_ASSIGN_OR_RAISE(uint32_t num_recent, StateCodec<uint32_t>::Read(in));
    if (in->size() / sizeof(int64_t) < num_recent) {
      return Status::IOError("account history: recent timestamps are truncated");
    }
    for (uint32_t i = 0; i < num_recent; ++i) {
      ARROW_ASSIGN_OR_RAISE(int64_t ts, StateCodec<int64_t>::Read(in));
      h.AddRecent(ts);
    }
    return h;
  }
};

}  // namespace sabot

namespace fraud {

using sabot::KeyedProcessContext;
using sabot::Result;
using sabot::Status;

/// Alert counts summed over the subtasks (each adds its own when its input ends).
struct Totals {
  std::atomic<int64_t> transactions{0};
  std::atomic<int64_t> velocity{0};
  std::atomic<int64_t> anomaly{0};
  std::atomic<int64_t> geo{0};
};

std::shared_ptr<arrow::Schema> AlertSchema() {
  return arrow::schema({arrow::field("transaction_id", arrow::utf8()),
                        arrow::field("account_number", arrow::int64()),
                        arrow::field("type", arrow::utf8()),
                        arrow::field("severity", arrow::utf8()),
                        arrow::field("message", arrow::utf8()),
                        arrow::field("timestamp_ms", arrow::int64())});
}

std::shared_ptr<arrow::Schema> TransactionSchema() {
  return arrow::schema({arrow::field("transaction_id", arrow::utf8()),
                        arrow::field("account_number", arrow::int64()),
                        arrow::field("transaction_amount", arrow::float64()),
                        arrow::field("currency", arrow::utf8()),
                        arrow::field("branch_city", arrow::utf8()),
                        arrow::field("timestamp_ms", arrow::int64())});
}

// A utf8 column's values without per-row virtual calls or shared_ptr copies.
struct Utf8Column {
  const int32_t* offsets = nullptr;
  const char* data = nullptr;
  std::string_view operator[](int64_t i) const {
    return {data + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i])};
  }
};

class FraudRules : public sabot::KeyedProcessFunction {
 public:
  explicit FraudRules(std::shared_ptr<Totals> totals) : totals_(std::move(totals)) {}

  Status Open(KeyedProcessContext& context) override {
    ARROW_ASSIGN_OR_RAISE(
        history_, sabot::MakeValueState<AccountHistory>(context.state_backend(),
                                                        {"fraud.account_history"}));
    return Status::OK();
  }

  Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch,
                      const uint32_t* key_ids, KeyedProcessContext& context) override {
    const int64_t num_rows = batch->num_rows();
    if (num_rows == 0) return Status::OK();
    const int64_t* accounts = nullptr;
    const double* amounts = nullptr;
    const int64_t* times = nullptr;
    Utf8Column currencies, cities, ids;
    ARROW_RETURN_NOT_OK(Int64Values(*batch, "account_number", &accounts));
    ARROW_RETURN_NOT_OK(Int64Values(*batch, "timestamp_ms", &times));
    ARROW_RETURN_NOT_OK(DoubleValues(*batch, "transaction_amount", &amounts));
    ARROW_RETURN_NOT_OK(Utf8Values(*batch, "currency", &currencies));
    ARROW_RETURN_NOT_OK(Utf8Values(*batch, "branch_city", &cities));
    ARROW_RETURN_NOT_OK(Utf8Values(*batch, "transaction_id", &ids));

    // The batch's distinct keys in order of first appearance, and each row's slot.
    const uint32_t num_keys = context.num_keys();
    if (slot_of_key_.size() < num_keys) {
      slot_of_key_.resize(num_keys);
      seen_in_batch_.resize(num_keys, 0);
    }
    if (++generation_ == 0) {  // wrapped: forget every stamp
      std::fill(seen_in_batch_.begin(), seen_in_batch_.end(), 0);
      generation_ = 1;
    }
    unique_keys_.clear();
    row_slot_.resize(num_rows);
    for (int64_t i = 0; i < num_rows; ++i) {
      const uint32_t key = key_ids[i];
      if (seen_in_batch_[key] != generation_) {
        seen_in_batch_[key] = generation_;
        slot_of_key_[key] = static_cast<uint32_t>(unique_keys_.size());
        unique_keys_.push_back(key);
      }
      row_slot_[i] = slot_of_key_[key];
    }
    const int64_t num_unique = static_cast<int64_t>(unique_keys_.size());
    state_keys_.resize(num_unique);
    for (int64_t u = 0; u < num_unique; ++u) {
      state_keys_[u] = context.state_key(unique_keys_[u]);
    }

    // One batched read of every key's history, rows in order, one batched write.
    loaded_.resize(num_unique);
    ARROW_RETURN_NOT_OK(
        history_->GetBatch(state_keys_.data(), num_unique, loaded_.data()));
    histories_.resize(num_unique);
    for (int64_t u = 0; u < num_unique; ++u) {
      if (loaded_[u]) {
        histories_[u] = std::move(*loaded_[u]);
        loaded_[u].reset();
      } else {
        histories_[u] = AccountHistory{};
      }
    }

    int64_t num_alerts = 0;
    for (int64_t i = 0; i < num_rows; ++i) {
      AccountHistory& h = histories_[row_slot_[i]];
      const int64_t ts = times[i];
      const double amount = amounts[i];
      const std::string_view city = cities[i];

      const uint32_t earlier = h.PruneRecent(ts);
      if (earlier >= kVelocityMinEarlier) {
        const int n = std::snprintf(message_, sizeof(message_), "%u transactions in 60s",
                                    earlier + 1);
        ARROW_RETURN_NOT_OK(AddAlert(ids[i], accounts[i], "VELOCITY", "HIGH", n, ts));
        ++velocity_;
        ++num_alerts;
      }

      if (h.count >= kAnomalyMinEarlier) {
        const double mean = h.mean;
        const double stddev = std::sqrt(h.m2 / static_cast<double>(h.count));
        if (stddev > 0) {
          const double z = (amount - mean) / stddev;
          if (std::fabs(z) > kAnomalyZ) {
            const std::string currency(currencies[i]);
            const int n = std::snprintf(message_, sizeof(message_),
                                        "Amount %.2f %s is %.1f\xcf\x83 from mean %.2f",
                                        amount, currency.c_str(), z, mean);
            ARROW_RETURN_NOT_OK(AddAlert(ids[i], accounts[i], "AMOUNT_ANOMALY",
                                         z > kAnomalyCriticalZ ? "CRITICAL" : "HIGH", n,
                                         ts));
            ++anomaly_;
            ++num_alerts;
          }
        }
      }

      const bool same_city = h.has_previous && std::string_view(h.previous_city) == city;
      if (h.has_previous && !same_city && ts - h.previous_ts < kGeoWindowMs) {
        const City* from = FindCity(h.previous_city);
        const City* to = FindCity(city);
        if (from == nullptr || to == nullptr) {
          return Status::KeyError("unknown branch_city '",
                                  from == nullptr ? h.previous_city : std::string(city),
                                  "' (transaction ", std::string(ids[i]), ")");
        }
        const double minutes = static_cast<double>(ts - h.previous_ts) / 60'000;
        const int n = std::snprintf(message_, sizeof(message_),
                                    "%s\xe2\x86\x92%s in %.1fmin (%.0fkm)", from->name,
                                    to->name, minutes, HaversineKm(*from, *to));
        ARROW_RETURN_NOT_OK(
            AddAlert(ids[i], accounts[i], "GEO_IMPOSSIBLE", "CRITICAL", n, ts));
        ++geo_;
        ++num_alerts;
      }

      h.AddRecent(ts);
      ++h.count;
      const double delta = amount - h.mean;
      h.mean += delta / static_cast<double>(h.count);
      h.m2 += delta * (amount - h.mean);
      if (!same_city) h.previous_city.assign(city);
      h.previous_ts = ts;
      h.has_previous = true;
    }
    transactions_ += num_rows;

    ARROW_RETURN_NOT_OK(
        history_->UpdateBatch(state_keys_.data(), num_unique, histories_.data()));
    if (num_alerts == 0) return Status::OK();
    return EmitAlerts(num_alerts, context);
  }

  Status Finish(KeyedProcessContext& context) override {
    totals_->transactions += transactions_;
    totals_->velocity += velocity_;
    totals_->anomaly += anomaly_;
    totals_->geo += geo_;
    transactions_ = velocity_ = anomaly_ = geo_ = 0;
    return Status::OK();
  }

 private:
  static Result<const arrow::ArrayData*> Column(const arrow::RecordBatch& batch,
                                                const char* name,
                                                arrow::Type::type type) {
    const int index = batch.schema()->GetFieldIndex(name);
    if (index < 0) return Status::Invalid("the input has no column '", name, "'");
    const arrow::ArrayData* data = batch.column_data(index).get();
    if (data->type->id() != type) {
      return Status::TypeError("column '", name, "' has type ", data->type->ToString());
    }
    if (data->GetNullCount() != 0) {
      return Status::Invalid("column '", name, "' has nulls");
    }
    return data;
  }
  static Status Int64Values(const arrow::RecordBatch& batch, const char* name,
                            const int64_t** out) {
    ARROW_ASSIGN_OR_RAISE(auto* data, Column(batch, name, arrow::Type::INT64));
    *out = data->GetValues<int64_t>(1);
    return Status::OK();
  }
  static Status DoubleValues(const arrow::RecordBatch& batch, const char* name,
                             const double** out) {
    ARROW_ASSIGN_OR_RAISE(auto* data, Column(batch, name, arrow::Type::DOUBLE));
    *out = data->GetValues<double>(1);
    return Status::OK();
  }
  static Status Utf8Values(const arrow::RecordBatch& batch, const char* name,
                           Utf8Column* out) {
    ARROW_ASSIGN_OR_RAISE(auto* data, Column(batch, name, arrow::Type::STRING));
    out->offsets = data->GetValues<int32_t>(1);
    out->data =
        data->buffers[2] ? reinterpret_cast<const char*>(data->buffers[2]->data()) : "";
    return Status::OK();
  }

  // Appends an alert whose message is the first `length` bytes of message_.
  Status AddAlert(std::string_view transaction_id, int64_t account, const char* type,
                  const char* severity, int length, int64_t ts) {
    if (length < 0 || length >= static_cast<int>(sizeof(message_))) {
      return Status::Invalid("alert message too long for transaction ",
                             std::string(transaction_id));
    }
    ARROW_RETURN_NOT_OK(out_ids_.Append(transaction_id));
    ARROW_RETURN_NOT_OK(out_accounts_.Append(account));
    ARROW_RETURN_NOT_OK(out_types_.Append(type));
    ARROW_RETURN_NOT_OK(out_severities_.Append(severity));
    ARROW_RETURN_NOT_OK(out_messages_.Append(message_, length));
    return out_times_.Append(ts);
  }

  Status EmitAlerts(int64_t num_alerts, KeyedProcessContext& context) {
    std::vector<std::shared_ptr<arrow::Array>> columns(6);
    ARROW_RETURN_NOT_OK(out_ids_.Finish(&columns[0]));
    ARROW_RETURN_NOT_OK(out_accounts_.Finish(&columns[1]));
    ARROW_RETURN_NOT_OK(out_types_.Finish(&columns[2]));
    ARROW_RETURN_NOT_OK(out_severities_.Finish(&columns[3]));
    ARROW_RETURN_NOT_OK(out_messages_.Finish(&columns[4]));
    ARROW_RETURN_NOT_OK(out_times_.Finish(&columns[5]));
    return context.Emit(
        arrow::RecordBatch::Make(schema_, num_alerts, std::move(columns)));
  }

  std::shared_ptr<Totals> totals_;
  std::shared_ptr<arrow::Schema> schema_ = AlertSchema();
  std::unique_ptr<sabot::ValueState<AccountHistory>> history_;

  // Per-batch working memory, reused.
  std::vector<uint32_t> slot_of_key_;    // by key id: slot in this batch
  std::vector<uint32_t> seen_in_batch_;  // by key id: generation_ when last seen
  uint32_t generation_ = 0;
  std::vector<uint32_t> unique_keys_;  // by slot: key id
  std::vector<uint32_t> row_slot_;     // by row: slot
  std::vector<sabot::StateKey> state_keys_;
  std::vector<std::optional<AccountHistory>> loaded_;
  std::vector<AccountHistory> histories_;
  char message_[512];

  arrow::StringBuilder out_ids_, out_types_, out_severities_, out_messages_;
  arrow::Int64Builder out_accounts_, out_times_;

  int64_t transactions_ = 0, velocity_ = 0, anomaly_ = 0, geo_ = 0;
};

// ---- the benchmark's transaction generator ------------------------------------------

// splitmix64: small, fast, deterministic on every platform.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double low, double high) { return low + (high - low) * Uniform(); }
  /// Uniform in [low, high] (inclusive).
  int64_t Int(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(Next() % static_cast<uint64_t>(high - low + 1));
  }
  /// Standard normal (Box-Muller).
  double Gauss() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(2 * kPi * u2);
    has_spare_ = true;
    return radius * std::cos(2 * kPi * u2);
  }

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0;
};

/// `count` transactions in event-time order, like examples/fraud_app.py's generate():
/// each account has a home city and a typical spend (log-normal); about 1 % of the
/// transactions start a burst of 2-4 rapid purchases, 0.5 % are 8-30 times larger than
/// usual, and 0.3 % come from another city 1-8 minutes after the account's previous one.
Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> GenerateTransactions(
    int64_t count, int64_t num_accounts, int64_t batch_size, uint64_t seed) {
  Random rng(seed);
  struct Profile {
    int city;
    double mu;
    double sigma;
  };
  std::vector<Profile> profiles(num_accounts);
  for (Profile& profile : profiles) {
    profile.city = static_cast<int>(rng.Int(0, kCities.size() - 1));
    profile.mu = rng.Uniform(3.0, 5.5);
    profile.sigma = rng.Uniform(0.3, 0.6);
  }
  std::vector<int64_t> last_ts(num_accounts, -1);
  int64_t ts = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  int64_t burst_left = 0, burst_account = 0;
  int burst_city = 0;

  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  arrow::StringBuilder ids, currencies, cities;
  arrow::Int64Builder accounts, times;
  arrow::DoubleBuilder amounts;
  char id[32];
  for (int64_t start = 0; start < count; start += batch_size) {
    const int64_t rows = std::min(batch_size, count - start);
    ARROW_RETURN_NOT_OK(ids.Reserve(rows));
    ARROW_RETURN_NOT_OK(ids.ReserveData(rows * 10));
    ARROW_RETURN_NOT_OK(currencies.Reserve(rows));
    ARROW_RETURN_NOT_OK(currencies.ReserveData(rows * 3));
    ARROW_RETURN_NOT_OK(cities.Reserve(rows));
    ARROW_RETURN_NOT_OK(cities.ReserveData(rows * 12));
    ARROW_RETURN_NOT_OK(accounts.Reserve(rows));
    ARROW_RETURN_NOT_OK(times.Reserve(rows));
    ARROW_RETURN_NOT_OK(amounts.Reserve(rows));
    for (int64_t i = start; i < start + rows; ++i) {
      int64_t account;
      int city;
      if (burst_left > 0) {
        --burst_left;
        account = burst_account;
        city = burst_city;
        ts += rng.Int(1, 2000);
      } else {
        account = rng.Int(0, num_accounts - 1);
        city = profiles[account].city;
        ts += rng.Int(1, 400);
        const double roll = rng.Uniform();
        if (roll < 0.01) {
          burst_left = rng.Int(2, 4);
          burst_account = account;
          burst_city = city;
        } else if (roll < 0.013 && last_ts[account] >= 0) {
          const int other = static_cast<int>(rng.Int(0, kCities.size() - 2));
          city = other >= city ? other + 1 : other;
          ts = std::max(ts, last_ts[account] + rng.Int(60'000, 500'000));
        }
      }
      const Profile& profile = profiles[account];
      double amount = std::exp(profile.mu + profile.sigma * rng.Gauss());
      if (rng.Uniform() < 0.005) amount *= rng.Uniform(8, 30);
      amount = std::round(amount * 100) / 100;
      last_ts[account] = ts;
      const int length =
          std::snprintf(id, sizeof(id), "T%09lld", static_cast<long long>(i));
      ids.UnsafeAppend(id, length);
      accounts.UnsafeAppend(account);
      amounts.UnsafeAppend(amount);
      ARROW_RETURN_NOT_OK(currencies.Append(kCities[city].currency));
      ARROW_RETURN_NOT_OK(cities.Append(kCities[city].name));
      times.UnsafeAppend(ts);
    }
    std::vector<std::shared_ptr<arrow::Array>> columns(6);
    ARROW_RETURN_NOT_OK(ids.Finish(&columns[0]));
    ARROW_RETURN_NOT_OK(accounts.Finish(&columns[1]));
    ARROW_RETURN_NOT_OK(amounts.Finish(&columns[2]));
    ARROW_RETURN_NOT_OK(currencies.Finish(&columns[3]));
    ARROW_RETURN_NOT_OK(cities.Finish(&columns[4]));
    ARROW_RETURN_NOT_OK(times.Finish(&columns[5]));
    batches.push_back(
        arrow::RecordBatch::Make(TransactionSchema(), rows, std::move(columns)));
  }
  return batches;
}

// ---- the program --------------------------------------------------------------------

struct Options {
  std::string input;
  std::string output;
  int64_t benchmark = 0;
  int parallelism = 1;
  std::string state = "memory";
  int64_t accounts = 10'000;
  int64_t batch_size = 64 * 1024;
  std::string checkpoint_dir;  // empty: no checkpoints
  int64_t checkpoint_interval_ms = 1000;
};

// A temporary RocksDB working directory, removed when the run ends.
class TempDirectory {
 public:
  Result<std::string> Create() {
    char pattern[] = "/tmp/fraud_cpp_rocksdb_XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      return Status::IOError("cannot create a temporary directory: ",
                             std::strerror(errno));
    }
    path_ = pattern;
    return path_;
  }
  ~TempDirectory() {
    if (path_.empty()) return;
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }

 private:
  std::string path_;
};

std::string AlertCounts(const Totals& totals) {
  char text[256];
  std::snprintf(text, sizeof(text),
                "{\"VELOCITY\":%lld,\"AMOUNT_ANOMALY\":%lld,\"GEO_IMPOSSIBLE\":%lld}",
                static_cast<long long>(totals.velocity.load()),
                static_cast<long long>(totals.anomaly.load()),
                static_cast<long long>(totals.geo.load()));
  return text;
}

Status Run(const Options& options) {
  TempDirectory state_directory;  // outlives the environment and its job
  sabot::StreamEnvironment env;
  if (options.state == "rocksdb") {
    sabot::StateBackendConfig state;
    state.kind = sabot::StateBackendKind::kRocksDb;
    ARROW_ASSIGN_OR_RAISE(state.directory, state_directory.Create());
    env.SetStateBackend(state);
  } else if (options.state != "memory") {
    return Status::Invalid("--state must be memory or rocksdb, not '", options.state,
                           "'");
  }
  if (!options.checkpoint_dir.empty()) {
    sabot::CheckpointConfig checkpoints;
    checkpoints.directory = options.checkpoint_dir;
    checkpoints.interval_ms = options.checkpoint_interval_ms;
    env.EnableCheckpointing(checkpoints);
  }

  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  if (options.benchmark > 0) {
    // Generated before the job starts: not part of the timing.
    ARROW_ASSIGN_OR_RAISE(batches,
                          GenerateTransactions(options.benchmark, options.accounts,
                                               options.batch_size, 42));
  }

  // One source subtask keeps each account's transactions in order through the KeyBy.
  env.SetParallelism(1);
  sabot::FileSourceConfig source;
  source.format = sabot::FileFormat::kJsonLines;
  source.path = options.input;
  source.schema = TransactionSchema();
  source.batch_size = options.batch_size;
  sabot::DataStream transactions =
      options.benchmark > 0 ? env.FromBatches(TransactionSchema(), std::move(batches))
                            : env.FromFiles(source);
  transactions.Name("transactions");

  auto totals = std::make_shared<Totals>();
  env.SetParallelism(options.parallelism);
  sabot::DataStream alerts =
      transactions.KeyBy({"account_number"})
          .Process(
              "fraud_rules", [totals] { return std::make_unique<FraudRules>(totals); },
              AlertSchema())
          .Name("fraud_rules");
  if (options.benchmark > 0) {
    alerts.Blackhole();
  } else {
    alerts.WriteJsonLines(options.output);
  }

  ARROW_ASSIGN_OR_RAISE(sabot::JobResult result, env.Execute());
  const long long n = static_cast<long long>(totals->transactions.load());
  if (options.benchmark > 0) {
    std::printf(
        "{\"benchmark\":\"fraud_cpp\",\"transactions\":%lld,\"parallelism\":%d,"
        "\"state\":\"%s\",\"wall_seconds\":%.3f,\"cpu_seconds\":%.3f,"
        "\"transactions_per_second\":%.0f,\"transactions_per_cpu_second\":%.0f,"
        "\"alerts\":%lld,\"alerts_by_type\":%s,\"checkpoints\":%lld}\n",
        n, options.parallelism, options.state.c_str(), result.elapsed_seconds,
        result.cpu_seconds, n / result.elapsed_seconds, n / result.cpu_seconds,
        static_cast<long long>(totals->velocity + totals->anomaly + totals->geo),
        AlertCounts(*totals).c_str(),
        static_cast<long long>(result.checkpoints_completed));
  } else {
    std::printf("{\"mode\":\"file\",\"transactions\":%lld,\"alerts\":%s}\n", n,
                AlertCounts(*totals).c_str());
  }
  return Status::OK();
}

int Usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s --input PATH.jsonl --output DIR [--parallelism P] "
               "[--state memory|rocksdb]\n"
               "       %s --benchmark N [--parallelism P] [--state memory|rocksdb] "
               "[--accounts A] [--batch-size B]\n"
               "       (both: [--checkpoint-dir DIR [--checkpoint-interval-ms MS]])\n",
               program, program);
  return 2;
}

}  // namespace fraud

int main(int argc, char** argv) {
  fraud::Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return fraud::Usage(argv[0]);
    const char* value = argv[++i];
    if (flag == "--input") {
      options.input = value;
    } else if (flag == "--output") {
      options.output = value;
    } else if (flag == "--benchmark") {
      options.benchmark = std::atoll(value);
    } else if (flag == "--parallelism") {
      options.parallelism = std::atoi(value);
    } else if (flag == "--state") {
      options.state = value;
    } else if (flag == "--accounts") {
      options.accounts = std::atoll(value);
    } else if (flag == "--checkpoint-dir") {
      options.checkpoint_dir = value;
    } else if (flag == "--checkpoint-interval-ms") {
      options.checkpoint_interval_ms = std::atoll(value);
    } else if (flag == "--batch-size") {
      options.batch_size = std::atoll(value);
    } else {
      return fraud::Usage(argv[0]);
    }
  }
  const bool file_mode = !options.input.empty() && !options.output.empty();
  if (file_mode == (options.benchmark > 0) || options.parallelism < 1 ||
      options.accounts < 1 || options.batch_size < 1) {
    return fraud::Usage(argv[0]);
  }
  sabot::Status status = fraud::Run(options);
  if (!status.ok()) {
    std::fprintf(stderr, "fraud_detection failed: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
