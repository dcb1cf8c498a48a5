#include "sabot/state/timer_state.h"

#include <set>
#include <tuple>
#include <utility>

#include "sabot/state/heap_backend.h"
#include "sabot/state/timer_state_internal.h"

namespace sabot {
namespace internal {

void AppendTimerGroupPrefix(int32_t key_group, std::string* out) {
  out->push_back(static_cast<char>((key_group >> 8) & 0xff));
  out->push_back(static_cast<char>(key_group & 0xff));
}

void AppendOrderedInt64(int64_t value, std::string* out) {
  // Flipping the sign bit maps INT64_MIN..INT64_MAX onto 0..UINT64_MAX in order.
  const uint64_t bits = static_cast<uint64_t>(value) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((bits >> shift) & 0xff));
  }
}

int64_t ReadOrderedInt64(const char* bytes) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = bits << 8 | static_cast<unsigned char>(bytes[i]);
  return static_cast<int64_t>(bits ^ (uint64_t{1} << 63));
}

void AppendTimerKey(const StateKey& key, int64_t timestamp, int64_t name_space,
                    std::string* out) {
  AppendTimerGroupPrefix(key.key_group, out);
  AppendOrderedInt64(timestamp, out);
  const uint32_t length = static_cast<uint32_t>(key.bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((length >> shift) & 0xff));
  }
  out->append(key.bytes);
  AppendOrderedInt64(name_space, out);
}

Result<KeyedTimer> DecodeTimerKey(std::string_view encoded) {
  constexpr size_t kFixed = kTimerKeyHeader + 4 + 8;
  if (encoded.size() < kFixed) return Status::IOError("timer key is truncated");
  const auto* bytes = reinterpret_cast<const unsigned char*>(encoded.data());
  const size_t length = static_cast<size_t>(bytes[10]) << 24 |
                        static_cast<size_t>(bytes[11]) << 16 |
                        static_cast<size_t>(bytes[12]) << 8 | bytes[13];
  if (encoded.size() != kFixed + length) {
    return Status::IOError("timer key of ", encoded.size(), " bytes names a key of ",
                           length, " bytes");
  }
  KeyedTimer timer;
  timer.key_group = static_cast<int32_t>(bytes[0]) << 8 | bytes[1];
  timer.timestamp = ReadOrderedInt64(encoded.data() + 2);
  timer.key.assign(encoded.data() + kTimerKeyHeader + 4, length);
  timer.name_space = ReadOrderedInt64(encoded.data() + kTimerKeyHeader + 4 + length);
  return timer;
}

}  // namespace internal

namespace {

// Timers of the memory backend: one ordered set over all key groups, in firing order
// (the order of the RocksDB keys, timer_state_internal.h), so that PopDue takes timers
// from its front and NextTimestamp reads its first element.
struct TimerView {
  int64_t timestamp;
  int32_t key_group;
  std::string_view key;
  int64_t name_space;
};

struct TimerOrder {
  using is_transparent = void;
  static auto Tie(const KeyedTimer& timer) {
    return std::make_tuple(timer.timestamp, timer.key_group, timer.key.size(),
                           std::string_view(timer.key), timer.name_space);
  }
  static auto Tie(const TimerView& timer) {
    return std::make_tuple(timer.timestamp, timer.key_group, timer.key.size(), timer.key,
                           timer.name_space);
  }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return Tie(a) < Tie(b);
  }
};

class HeapTimerTable : public HeapTableBase {
 public:
  HeapTimerTable(HeapBackend*, StateTtl) {}

  int64_t CleanupExpired(int64_t, int64_t) override { return 0; }

  void Snapshot(int64_t, StateSnapshotWriter* writer) const override {
    std::string key;
    for (const KeyedTimer& timer : timers) {
      key.clear();
      internal::AppendTimerKey(timer.state_key(), timer.timestamp, timer.name_space,
                               &key);
      writer->Entry(timer.key_group, key, {});
    }
  }

  Status RestoreEntry(int32_t key_group, std::string_view key,
                      std::string_view value) override {
    ARROW_ASSIGN_OR_RAISE(KeyedTimer timer, internal::DecodeTimerKey(key));
    if (timer.key_group != key_group || !value.empty()) {
      return Status::IOError("keyed state snapshot holds a corrupt timer entry");
    }
    timers.insert(std::move(timer));
    return Status::OK();
  }

  std::set<KeyedTimer, TimerOrder> timers;
};

class HeapTimerState : public TimerState {
 public:
  HeapTimerState(HeapTimerTable* table, HeapBackend* backend)
      : table_(table), backend_(backend) {}

  Status Register(const StateKey& key, int64_t timestamp, int64_t name_space) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    const TimerView view{timestamp, key.key_group, key.bytes, name_space};
    auto it = table_->timers.lower_bound(view);
    if (it != table_->timers.end() && !TimerOrder()(view, *it)) return Status::OK();
    table_->timers.emplace_hint(
        it, KeyedTimer{timestamp, key.key_group, std::string(key.bytes), name_space});
    return Status::OK();
  }

  Status Delete(const StateKey& key, int64_t timestamp, int64_t name_space) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    auto it =
        table_->timers.find(TimerView{timestamp, key.key_group, key.bytes, name_space});
    if (it != table_->timers.end()) table_->timers.erase(it);
    return Status::OK();
  }

  Result<std::vector<KeyedTimer>> PopDue(int64_t time, int64_t limit) override {
    std::vector<KeyedTimer> due;
    auto& timers = table_->timers;
    while (static_cast<int64_t>(due.size()) < limit && !timers.empty() &&
           timers.begin()->timestamp <= time) {
      due.push_back(std::move(timers.extract(timers.begin()).value()));
    }
    return due;
  }

  Result<std::optional<int64_t>> NextTimestamp() override {
    if (table_->timers.empty()) return std::optional<int64_t>();
    return std::optional<int64_t>(table_->timers.begin()->timestamp);
  }

 private:
  HeapTimerTable* table_;
  HeapBackend* backend_;
};

}  // namespace

Result<std::unique_ptr<TimerState>> MakeTimerState(KeyedStateBackend* backend,
                                                   const StateDescriptor& descriptor) {
  if (descriptor.ttl.ttl_ms > 0) {
    return Status::Invalid("timer state '", descriptor.name,
                           "' cannot have a TTL: timers are removed when they fire");
  }
  if (backend->kind() == StateBackendKind::kRocksDb) {
    return internal::MakeRocksTimerState(backend, descriptor);
  }
  auto* heap = static_cast<HeapBackend*>(backend);
  ARROW_ASSIGN_OR_RAISE(auto* table, heap->GetTable<HeapTimerTable>(descriptor));
  return std::unique_ptr<TimerState>(new HeapTimerState(table, heap));
}

}  // namespace sabot
