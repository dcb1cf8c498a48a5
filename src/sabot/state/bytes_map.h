// A hash map from key bytes to values for the memory backend: open addressing with
// linear probing, the key's 64-bit hash stored next to it (probes compare hashes before
// bytes), tombstones for erased slots. Short keys live inside their std::string, so a
// lookup is a hash, one or two cache lines and no allocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sabot {

template <typename V>
class BytesMap {
 public:
  BytesMap() : slots_(kInitialCapacity) {}

  static uint64_t Hash(std::string_view key) {
    const uint64_t hash = XXH3_64bits(key.data(), key.size());
    return hash < 2 ? hash + 2 : hash;
  }

  /// Starts loading the slot where a key with `hash` is looked up first.
  void Prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[hash & Mask()]); }

  /// The value of `key`, or null.
  V* Find(std::string_view key) { return Find(key, Hash(key)); }
  /// The same, with Hash(key) already computed.
  V* Find(std::string_view key, uint64_t hash) {
    for (size_t i = hash & Mask();; i = (i + 1) & Mask()) {
      Slot& slot = slots_[i];
      if (slot.hash == kEmpty) return nullptr;
      if (slot.hash == hash && slot.key == key) return &slot.value;
    }
  }

  /// The value of `key`, default-constructed if absent; `inserted` tells which.
  V& FindOrInsert(std::string_view key, bool* inserted) {
    return FindOrInsert(key, Hash(key), inserted);
  }
  V& FindOrInsert(std::string_view key, uint64_t hash, bool* inserted) {
    size_t tombstone = kNone;
    for (size_t i = hash & Mask();; i = (i + 1) & Mask()) {
      Slot& slot = slots_[i];
      if (slot.hash == kEmpty) {
        const size_t target = tombstone != kNone ? tombstone : i;
        if (tombstone == kNone) ++used_;
        Slot& free = slots_[target];
        free.hash = hash;
        free.key.assign(key);
        free.value = V{};
        ++size_;
        *inserted = true;
        if (used_ * 2 > slots_.size()) {
          Rehash(size_ * 4 > slots_.size() ? slots_.size() * 2 : slots_.size());
          return *Find(key);
        }
        return free.value;
      }
      if (slot.hash == kTombstone) {
        if (tombstone == kNone) tombstone = i;
      } else if (slot.hash == hash && slot.key == key) {
        *inserted = false;
        return slot.value;
      }
    }
  }

  /// Removes `key`; returns whether it was present.
  bool Erase(std::string_view key) {
    const uint64_t hash = Hash(key);
    for (size_t i = hash & Mask();; i = (i + 1) & Mask()) {
      Slot& slot = slots_[i];
      if (slot.hash == kEmpty) return false;
      if (slot.hash == hash && slot.key == key) {
        EraseSlot(i);
        return true;
      }
    }
  }

  size_t size() const { return size_; }
  /// Calls fn(key, value) for every entry (snapshots).
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& slot : slots_) {
      if (slot.hash != kEmpty && slot.hash != kTombstone) fn(slot.key, slot.value);
    }
  }
  /// Slots, for incremental scans: ForSlot(i, fn) calls fn(key, value) if slot i holds
  /// an entry and erases it when fn returns true.
  size_t capacity() const { return slots_.size(); }
  template <typename Fn>
  bool EraseSlotIf(size_t i, Fn&& should_erase) {
    Slot& slot = slots_[i];
    if (slot.hash == kEmpty || slot.hash == kTombstone) return false;
    if (!should_erase(slot.value)) return false;
    EraseSlot(i);
    return true;
  }

 private:
  static constexpr size_t kInitialCapacity = 16;
  static constexpr size_t kNone = ~size_t{0};
  // Real hashes are remapped away from these two markers.
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTombstone = 1;

  struct Slot {
    uint64_t hash = kEmpty;
    std::string key;
    V value{};
  };

  size_t Mask() const { return slots_.size() - 1; }

  void EraseSlot(size_t i) {
    Slot& slot = slots_[i];
    slot.hash = kTombstone;
    std::string().swap(slot.key);
    slot.value = V{};
    --size_;
  }

  void Rehash(size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    used_ = size_;
    for (Slot& slot : old) {
      if (slot.hash == kEmpty || slot.hash == kTombstone) continue;
      size_t i = slot.hash & Mask();
      while (slots_[i].hash != kEmpty) i = (i + 1) & Mask();
      slots_[i] = std::move(slot);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  size_t used_ = 0;  // entries plus tombstones
};

}  // namespace sabot
