// Internal to the timer states (timer_state.cc, rocksdb_timer_state.cc): the byte
// encoding of a timer, shared by the RocksDB column family of a timer state and by the
// snapshot entries of both backends.
//
// Timer key (all integers big-endian, so that byte order is numeric order):
//   key group (2 bytes) | timestamp (8 bytes, sign bit flipped) |
//   key length (4 bytes) | key bytes (state_key.h) | namespace (8 bytes, sign bit
//   flipped)
// Keys therefore sort by key group, then timestamp, then key (shorter first, then
// bytewise), then namespace: a key group's timers are one contiguous range in firing
// order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sabot/common/status.h"
#include "sabot/state/timer_state.h"

namespace sabot {

class KeyedStateBackend;

namespace internal {

/// Bytes before the key: key group and timestamp.
constexpr size_t kTimerKeyHeader = 10;

/// Appends the 2-byte key group prefix of every timer key of `key_group`.
void AppendTimerGroupPrefix(int32_t key_group, std::string* out);
/// Appends the 8-byte, order-preserving encoding of a timestamp or namespace.
void AppendOrderedInt64(int64_t value, std::string* out);
/// Reads an AppendOrderedInt64() encoding from `bytes` (at least 8 bytes).
int64_t ReadOrderedInt64(const char* bytes);

/// Appends the timer key of (key, timestamp, namespace).
void AppendTimerKey(const StateKey& key, int64_t timestamp, int64_t name_space,
                    std::string* out);
/// Decodes a timer key; an IOError if it is malformed.
Result<KeyedTimer> DecodeTimerKey(std::string_view encoded);

/// The RocksDB timer state (rocksdb_timer_state.cc).
Result<std::unique_ptr<TimerState>> MakeRocksTimerState(
    KeyedStateBackend* backend, const StateDescriptor& descriptor);

}  // namespace internal
}  // namespace sabot
