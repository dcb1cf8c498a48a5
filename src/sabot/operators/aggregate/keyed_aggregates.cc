#include "sabot/operators/aggregate/keyed_aggregates.h"

#include <algorithm>
#include <cstring>

#include "sabot/state/state_codec.h"

namespace sabot {
namespace {

constexpr size_t kInitialCapacity = 64;

inline uint64_t Hash(uint32_t key) {
  // Fibonacci hashing: consecutive key ids spread over the table.
  return (static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ULL) >> 32;
}

}  // namespace

Result<std::unique_ptr<KeyedAggregates>> KeyedAggregates::Make(
    const std::vector<ResolvedAggregate>& aggregates) {
  std::unique_ptr<KeyedAggregates> state(new KeyedAggregates());
  ARROW_ASSIGN_OR_RAISE(state->set_, AggregatorSet::Make(aggregates));
  state->table_.assign(kInitialCapacity, 0);
  state->mask_ = kInitialCapacity - 1;
  return state;
}

int64_t KeyedAggregates::Find(uint32_t key) const {
  const uint64_t tag = static_cast<uint64_t>(key) + 1;
  for (uint64_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
    const uint64_t entry = table_[i];
    if (entry == 0) return -1;
    if ((entry >> 32) == tag) return static_cast<uint32_t>(entry);
  }
}

uint32_t KeyedAggregates::SlotOf(uint32_t key) {
  const uint64_t tag = static_cast<uint64_t>(key) + 1;
  for (uint64_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
    const uint64_t entry = table_[i];
    if ((entry >> 32) == tag) return static_cast<uint32_t>(entry);
    if (entry == 0) {
      const uint32_t slot = static_cast<uint32_t>(keys_.size());
      table_[i] = tag << 32 | slot;
      keys_.push_back(key);
      if (keys_.size() * 2 > table_.size()) Grow();
      return slot;
    }
  }
}

void KeyedAggregates::Grow() {
  std::vector<uint64_t> old(table_.size() * 2, 0);
  old.swap(table_);
  mask_ = table_.size() - 1;
  for (uint64_t entry : old) {
    if (entry == 0) continue;
    const uint32_t key = static_cast<uint32_t>((entry >> 32) - 1);
    uint64_t i = Hash(key) & mask_;
    while (table_[i] != 0) i = (i + 1) & mask_;
    table_[i] = entry;
  }
}

Status KeyedAggregates::Serialize(std::string* out) const {
  StateCodec<int64_t>::Append(static_cast<int64_t>(keys_.size()), out);
  out->append(reinterpret_cast<const char*>(keys_.data()),
              keys_.size() * sizeof(uint32_t));
  return set_->Serialize(out);
}

Status KeyedAggregates::Deserialize(std::string_view* in) {
  ARROW_ASSIGN_OR_RAISE(int64_t size, StateCodec<int64_t>::Read(in));
  const size_t bytes = static_cast<size_t>(size) * sizeof(uint32_t);
  if (size < 0 || in->size() < bytes) return Status::IOError("pane state is truncated");
  keys_.resize(size);
  // An empty vector may have no buffer: memcpy must not see a null pointer.
  if (bytes > 0) std::memcpy(keys_.data(), in->data(), bytes);
  in->remove_prefix(bytes);
  size_t capacity = kInitialCapacity;
  while (keys_.size() * 2 > capacity) capacity *= 2;
  table_.assign(capacity, 0);
  mask_ = capacity - 1;
  std::vector<int64_t> identity(
      keys_.empty() ? 0 : *std::max_element(keys_.begin(), keys_.end()) + 1);
  for (size_t k = 0; k < identity.size(); ++k) identity[k] = static_cast<int64_t>(k);
  RemapKeys(identity);
  return set_->Deserialize(in);
}

void KeyedAggregates::RemapKeys(const std::vector<int64_t>& new_ids) {
  std::fill(table_.begin(), table_.end(), 0);
  for (uint32_t slot = 0; slot < keys_.size(); ++slot) {
    const uint32_t key = static_cast<uint32_t>(new_ids[keys_[slot]]);
    keys_[slot] = key;
    uint64_t i = Hash(key) & mask_;
    while (table_[i] != 0) i = (i + 1) & mask_;
    table_[i] = (static_cast<uint64_t>(key) + 1) << 32 | slot;
  }
}

Status KeyedAggregates::Consume(const PreparedRows& rows, const uint32_t* key_ids) {
  slots_.resize(rows.length);
  for (int64_t i = 0; i < rows.length; ++i) slots_[i] = SlotOf(key_ids[i]);
  set_->Resize(static_cast<uint32_t>(keys_.size()));
  return set_->Consume(rows, slots_.data());
}

Status KeyedAggregates::ConsumeSlots(const PreparedRows& rows, const uint32_t* slots) {
  set_->Resize(static_cast<uint32_t>(keys_.size()));
  return set_->Consume(rows, slots);
}

Status KeyedAggregates::MergeFrom(const KeyedAggregates& other) {
  const size_t count = other.keys_.size();
  slots_.resize(count);
  from_slots_.resize(count);
  for (size_t s = 0; s < count; ++s) {
    from_slots_[s] = static_cast<uint32_t>(s);
    slots_[s] = SlotOf(other.keys_[s]);
  }
  set_->Resize(static_cast<uint32_t>(keys_.size()));
  return set_->Merge(*other.set_, from_slots_.data(), slots_.data(),
                     static_cast<int64_t>(count));
}

Status KeyedAggregates::MergeRenamed(const KeyedAggregates& other,
                                     const std::vector<int64_t>& new_ids) {
  slots_.clear();
  from_slots_.clear();
  for (uint32_t s = 0; s < other.keys_.size(); ++s) {
    const uint32_t old_key = other.keys_[s];
    if (old_key >= new_ids.size()) {
      return Status::IOError("aggregation state names key ", old_key, " of ",
                             new_ids.size());
    }
    if (new_ids[old_key] < 0) continue;
    from_slots_.push_back(s);
    slots_.push_back(SlotOf(static_cast<uint32_t>(new_ids[old_key])));
  }
  set_->Resize(static_cast<uint32_t>(keys_.size()));
  return set_->Merge(*other.set_, from_slots_.data(), slots_.data(),
                     static_cast<int64_t>(slots_.size()));
}

Status KeyedAggregates::MergeFrom(const KeyedAggregates& other,
                                  const std::vector<uint32_t>& keys) {
  slots_.clear();
  from_slots_.clear();
  for (uint32_t key : keys) {
    const int64_t from = other.Find(key);
    if (from < 0) continue;
    from_slots_.push_back(static_cast<uint32_t>(from));
    slots_.push_back(SlotOf(key));
  }
  set_->Resize(static_cast<uint32_t>(keys_.size()));
  return set_->Merge(*other.set_, from_slots_.data(), slots_.data(),
                     static_cast<int64_t>(slots_.size()));
}

}  // namespace sabot
