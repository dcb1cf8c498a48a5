#include "sabot/types/key_groups.h"

#include <arrow/api.h>
#include <arrow/visit_type_inline.h>

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sabot {
namespace {

constexpr uint64_t kNullHash = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kSeed = 0x5ab07u;

// Finalizer of MurmurHash3: a bijective mixer, so distinct integers never collide.
inline uint64_t MixInteger(uint64_t value) {
  value ^= value >> 33;
  value *= 0xff51afd7ed558ccdULL;
  value ^= value >> 33;
  value *= 0xc4ceb9fe1a85ec53ULL;
  value ^= value >> 33;
  return value;
}

inline uint64_t Combine(uint64_t seed, uint64_t value) {
  return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

// Hashes one column into `hashes`, combining with what earlier key columns wrote.
struct ColumnHasher {
  const arrow::ArrayData& data;
  uint64_t* hashes;
  bool first;

  void Store(int64_t row, uint64_t h) {
    hashes[row] = first ? h : Combine(hashes[row], h);
  }

  template <typename T>
  void HashFixed(const T* values) {
    const int64_t n = data.length;
    if (data.GetNullCount() == 0) {
      for (int64_t i = 0; i < n; ++i) {
        uint64_t bits = 0;
        std::memcpy(&bits, &values[i], sizeof(T));
        Store(i, MixInteger(bits));
      }
    } else {
      const uint8_t* validity = data.buffers[0]->data();
      for (int64_t i = 0; i < n; ++i) {
        uint64_t bits = 0;
        std::memcpy(&bits, &values[i], sizeof(T));
        bool valid = arrow::bit_util::GetBit(validity, data.offset + i);
        Store(i, valid ? MixInteger(bits) : kNullHash);
      }
    }
  }

  template <typename T>
  arrow::enable_if_t<
      arrow::is_integer_type<T>::value || arrow::is_temporal_type<T>::value, Status>
  Visit(const T& type) {
    using CType = typename T::c_type;
    if constexpr (sizeof(CType) <= sizeof(uint64_t)) {
      HashFixed(data.GetValues<CType>(1));
      return Status::OK();
    } else {
      return Unsupported(type);
    }
  }

  // Float and double only: half floats are bit patterns (uint16_t) on which -0.0 and NaN
  // normalization would be wrong, so they are not supported as keys.
  template <typename T>
  arrow::enable_if_t<
      std::is_same_v<T, arrow::FloatType> || std::is_same_v<T, arrow::DoubleType>, Status>
  Visit(const T&) {
    using CType = typename T::c_type;
    // -0.0 and 0.0 are equal keys; NaNs are one key.
    const CType* raw = data.GetValues<CType>(1);
    std::vector<CType> normalized(raw, raw + data.length);
    for (auto& v : normalized) {
      if (v == 0) v = 0;
      if (v != v) v = std::numeric_limits<CType>::quiet_NaN();
    }
    HashFixed(normalized.data());
    return Status::OK();
  }

  Status Visit(const arrow::BooleanType&) {
    const uint8_t* bits = data.buffers[1]->data();
    for (int64_t i = 0; i < data.length; ++i) {
      bool valid = data.IsValid(i);
      Store(i, valid ? MixInteger(arrow::bit_util::GetBit(bits, data.offset + i) ? 1 : 2)
                     : kNullHash);
    }
    return Status::OK();
  }

  template <typename T>
  arrow::enable_if_t<arrow::is_base_binary_type<T>::value, Status> Visit(const T&) {
    using OffsetType = typename T::offset_type;
    const OffsetType* offsets = data.GetValues<OffsetType>(1);
    const uint8_t* bytes = data.buffers[2] ? data.buffers[2]->data() : nullptr;
    const bool has_nulls = data.GetNullCount() != 0;
    for (int64_t i = 0; i < data.length; ++i) {
      if (has_nulls && !data.IsValid(i)) {
        Store(i, kNullHash);
        continue;
      }
      Store(i,
            XXH3_64bits_withSeed(bytes + offsets[i], offsets[i + 1] - offsets[i], kSeed));
    }
    return Status::OK();
  }

  Status Visit(const arrow::DataType& type) { return Unsupported(type); }

  Status Unsupported(const arrow::DataType& type) {
    return Status::NotImplemented("key columns of type ", type.ToString(),
                                  " are not supported; cast the key to an integer or "
                                  "string type first");
  }
};

}  // namespace

bool IsHashableKeyType(const arrow::DataType& type) {
  if (type.id() == arrow::Type::HALF_FLOAT) return false;
  if (arrow::is_integer(type.id()) || arrow::is_floating(type.id()) ||
      arrow::is_base_binary_like(type.id()) || type.id() == arrow::Type::BOOL) {
    return true;
  }
  return arrow::is_temporal(type.id()) && type.byte_width() <= 8 && type.byte_width() > 0;
}

Status HashKeyColumns(const arrow::RecordBatch& batch,
                      const std::vector<int>& key_indices,
                      std::vector<uint64_t>* hashes) {
  hashes->resize(batch.num_rows());
  bool first = true;
  for (int index : key_indices) {
    const auto& data = *batch.column_data(index);
    ColumnHasher hasher{data, hashes->data(), first};
    ARROW_RETURN_NOT_OK(arrow::VisitTypeInline(*data.type, &hasher));
    first = false;
  }
  return Status::OK();
}

Result<std::vector<int>> ResolveKeyColumns(const arrow::Schema& schema,
                                           const std::vector<std::string>& key_columns) {
  if (key_columns.empty()) {
    return Status::Invalid("a key needs at least one column");
  }
  std::vector<int> indices;
  for (const auto& name : key_columns) {
    int index = schema.GetFieldIndex(name);
    if (index < 0) {
      std::string available;
      for (const auto& field : schema.fields()) {
        available += (available.empty() ? "" : ", ") + field->name();
      }
      return Status::Invalid("unknown key column '", name,
                             "'; available columns: ", available);
    }
    const auto& type = *schema.field(index)->type();
    if (!IsHashableKeyType(type)) {
      return Status::TypeError(
          "key column '", name, "' has type ", type.ToString(),
          ", which cannot be a key; cast it to an integer or string type "
          "first");
    }
    indices.push_back(index);
  }
  return indices;
}

KeyGroupRange KeyGroupRange::ForSubtask(int32_t max_parallelism, int32_t parallelism,
                                        int32_t subtask) {
  // Inverse of SubtaskForKeyGroup (key_group * parallelism / max_parallelism).
  auto first_of = [&](int32_t s) {
    return static_cast<int32_t>(
        (static_cast<int64_t>(s) * max_parallelism + parallelism - 1) / parallelism);
  };
  return {first_of(subtask), first_of(subtask + 1) - 1};
}

}  // namespace sabot
