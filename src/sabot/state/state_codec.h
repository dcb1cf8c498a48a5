// Binary encoding of state values for backends that store bytes (RocksDB, snapshots):
// arithmetic types as their little-endian bytes, strings as a little-endian uint32
// length and the bytes. No code-executing formats; other types specialize StateCodec.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

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

// Containers, for the memory backend's snapshots (its tables hold these).

template <typename T>
struct StateCodec<std::optional<T>> {
  static void Append(const std::optional<T>& value, std::string* out) {
    out->push_back(value ? 1 : 0);
    if (value) StateCodec<T>::Append(*value, out);
  }
  static Result<std::optional<T>> Read(std::string_view* in) {
    ARROW_ASSIGN_OR_RAISE(uint8_t has, StateCodec<uint8_t>::Read(in));
    if (has == 0) return std::optional<T>();
    ARROW_ASSIGN_OR_RAISE(T value, StateCodec<T>::Read(in));
    return std::optional<T>(std::move(value));
  }
};

template <typename A, typename B>
struct StateCodec<std::pair<A, B>> {
  static void Append(const std::pair<A, B>& value, std::string* out) {
    StateCodec<A>::Append(value.first, out);
    StateCodec<B>::Append(value.second, out);
  }
  static Result<std::pair<A, B>> Read(std::string_view* in) {
    ARROW_ASSIGN_OR_RAISE(A first, StateCodec<A>::Read(in));
    ARROW_ASSIGN_OR_RAISE(B second, StateCodec<B>::Read(in));
    return std::pair<A, B>(std::move(first), std::move(second));
  }
};

/// A uint32 element count, then the elements.
template <typename T>
struct StateCodec<std::vector<T>> {
  static void Append(const std::vector<T>& values, std::string* out) {
    StateCodec<uint32_t>::Append(static_cast<uint32_t>(values.size()), out);
    for (const T& value : values) StateCodec<T>::Append(value, out);
  }
  static Result<std::vector<T>> Read(std::string_view* in) {
    ARROW_ASSIGN_OR_RAISE(uint32_t count, StateCodec<uint32_t>::Read(in));
    std::vector<T> values;
    values.reserve(std::min<size_t>(count, in->size()));
    for (uint32_t i = 0; i < count; ++i) {
      ARROW_ASSIGN_OR_RAISE(T value, StateCodec<T>::Read(in));
      values.push_back(std::move(value));
    }
    return values;
  }
};

/// A uint32 entry count, then (key, value) pairs.
template <typename K, typename V>
struct StateCodec<std::unordered_map<K, V>> {
  static void Append(const std::unordered_map<K, V>& map, std::string* out) {
    StateCodec<uint32_t>::Append(static_cast<uint32_t>(map.size()), out);
    for (const auto& [key, value] : map) {
      StateCodec<K>::Append(key, out);
      StateCodec<V>::Append(value, out);
    }
  }
  static Result<std::unordered_map<K, V>> Read(std::string_view* in) {
    ARROW_ASSIGN_OR_RAISE(uint32_t count, StateCodec<uint32_t>::Read(in));
    std::unordered_map<K, V> map;
    for (uint32_t i = 0; i < count; ++i) {
      ARROW_ASSIGN_OR_RAISE(K key, StateCodec<K>::Read(in));
      ARROW_ASSIGN_OR_RAISE(V value, StateCodec<V>::Read(in));
      map.emplace(std::move(key), std::move(value));
    }
    return map;
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
