// Binary encoding of state values for backends that store bytes (RocksDB, snapshots):
// arithmetic types as their little-endian bytes, strings as a little-endian uint32
// length and the bytes. No code-executing formats; other types specialize StateCodec.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "sabot/common/status.h"

namespace sabot {

template <typename T, typename Enable = void>
struct StateCodec;

template <typename T>
struct StateCodec<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  static void Append(const T& value, std::string* out) {
    out->append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  /// Reads a value from the front of `in` and advances it.
  static Result<T> Read(std::string_view* in) {
    if (in->size() < sizeof(T)) return Status::IOError("state value is truncated");
    T value;
    std::memcpy(&value, in->data(), sizeof(T));
    in->remove_prefix(sizeof(T));
    return value;
  }
};

template <>
struct StateCodec<std::string> {
  static void Append(const std::string& value, std::string* out) {
    const uint32_t length = static_cast<uint32_t>(value.size());
    out->append(reinterpret_cast<const char*>(&length), sizeof(length));
    out->append(value);
  }
  static Result<std::string> Read(std::string_view* in) {
    uint32_t length;
    if (in->size() < sizeof(length)) return Status::IOError("state value is truncated");
    std::memcpy(&length, in->data(), sizeof(length));
    in->remove_prefix(sizeof(length));
    if (in->size() < length) return Status::IOError("state value is truncated");
    std::string value(in->data(), length);
    in->remove_prefix(length);
    return value;
  }
};

/// Encodes one value on its own.
template <typename T>
std::string EncodeStateValue(const T& value) {
  std::string out;
  StateCodec<T>::Append(value, &out);
  return out;
}

/// Decodes a value that must fill `bytes` exactly.
template <typename T>
Result<T> DecodeStateValue(std::string_view bytes) {
  ARROW_ASSIGN_OR_RAISE(T value, StateCodec<T>::Read(&bytes));
  if (!bytes.empty()) return Status::IOError("state value has trailing bytes");
  return value;
}

}  // namespace sabot
