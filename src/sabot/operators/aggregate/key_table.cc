#include "sabot/operators/aggregate/key_table.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/row/grouper.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/api.h>

#include <sstream>

#include "sabot/state/state_codec.h"

namespace sabot {

namespace cp = arrow::compute;

namespace {

constexpr int kInitialTableBits = 10;

inline uint64_t HashInteger(int64_t value, int shift) {
  return (static_cast<uint64_t>(value) * 0x9E3779B97F4A7C15ULL) >> shift;
}

}  // namespace

Result<std::unique_ptr<KeyTable>> KeyTable::Make(const arrow::Schema& schema,
                                                 std::vector<int> key_indices) {
  std::unique_ptr<KeyTable> table(new KeyTable());
  for (int index : key_indices)
    table->key_types_.emplace_back(schema.field(index)->type());
  table->integer_key_ =
      table->key_types_.size() == 1 && arrow::is_integer(table->key_types_[0].id());
  table->key_indices_ = std::move(key_indices);
  ARROW_RETURN_NOT_OK(table->Reset());
  return table;
}

KeyTable::~KeyTable() = default;

Status KeyTable::Reset() {
  uniques_.clear();
  uniques_size_ = 0;
  if (integer_key_) {
    table_values_.assign(size_t{1} << kInitialTableBits, 0);
    table_ids_.assign(size_t{1} << kInitialTableBits, 0);
    table_mask_ = (uint64_t{1} << kInitialTableBits) - 1;
    table_shift_ = 64 - kInitialTableBits;
    values_by_id_.clear();
    null_by_id_.clear();
    null_id_ = -1;
    return Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(grouper_, cp::Grouper::Make(key_types_));
  return Status::OK();
}

uint32_t KeyTable::size() const {
  return integer_key_ ? static_cast<uint32_t>(values_by_id_.size())
                      : grouper_->num_groups();
}

uint32_t KeyTable::NewIntegerId(int64_t value, uint64_t slot) {
  const uint32_t id = static_cast<uint32_t>(values_by_id_.size());
  values_by_id_.push_back(value);
  null_by_id_.push_back(0);
  table_values_[slot] = value;
  table_ids_[slot] = id + 1;
  if (values_by_id_.size() * 2 > table_ids_.size()) GrowIntegerTable();
  return id;
}

void KeyTable::GrowIntegerTable() {
  const size_t capacity = table_ids_.size() * 2;
  std::vector<int64_t> values(capacity, 0);
  std::vector<uint32_t> ids(capacity, 0);
  table_mask_ = capacity - 1;
  --table_shift_;
  for (size_t i = 0; i < table_ids_.size(); ++i) {
    if (table_ids_[i] == 0) continue;
    uint64_t slot = HashInteger(table_values_[i], table_shift_);
    while (ids[slot] != 0) slot = (slot + 1) & table_mask_;
    values[slot] = table_values_[i];
    ids[slot] = table_ids_[i];
  }
  table_values_.swap(values);
  table_ids_.swap(ids);
}

Status KeyTable::MapIntegers(const arrow::ArrayData& column, uint32_t* ids) {
  const int64_t* values = column.GetValues<int64_t>(1);
  const bool has_nulls = column.GetNullCount() > 0;
  for (int64_t i = 0; i < column.length; ++i) {
    if (has_nulls && !column.IsValid(i)) {
      if (null_id_ < 0) {
        null_id_ = values_by_id_.size();
        values_by_id_.push_back(0);
        null_by_id_.push_back(1);
      }
      ids[i] = static_cast<uint32_t>(null_id_);
      continue;
    }
    const int64_t value = values[i];
    uint64_t slot = HashInteger(value, table_shift_);
    while (true) {
      const uint32_t entry = table_ids_[slot];
      if (entry == 0) {
        ids[i] = NewIntegerId(value, slot);
        break;
      }
      if (table_values_[slot] == value) {
        ids[i] = entry - 1;
        break;
      }
      slot = (slot + 1) & table_mask_;
    }
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::UInt32Array>> KeyTable::Map(
    const arrow::RecordBatch& batch) {
  if (integer_key_) {
    std::shared_ptr<arrow::ArrayData> column = batch.column_data(key_indices_[0]);
    if (column->type->id() != arrow::Type::INT64) {
      // Unsafe: uint64 values above INT64_MAX keep their bits and stay distinct.
      ARROW_ASSIGN_OR_RAISE(
          arrow::Datum cast,
          cp::Cast(arrow::Datum(column), cp::CastOptions::Unsafe(arrow::int64())));
      column = cast.array();
    }
    ARROW_ASSIGN_OR_RAISE(auto buffer,
                          arrow::AllocateBuffer(batch.num_rows() * sizeof(uint32_t)));
    ARROW_RETURN_NOT_OK(
        MapIntegers(*column, reinterpret_cast<uint32_t*>(buffer->mutable_data())));
    return std::make_shared<arrow::UInt32Array>(batch.num_rows(), std::move(buffer));
  }
  std::vector<arrow::Datum> keys;
  for (int index : key_indices_) keys.emplace_back(batch.column(index));
  cp::ExecBatch key_batch(std::move(keys), batch.num_rows());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum ids, grouper_->Consume(cp::ExecSpan(key_batch)));
  return std::static_pointer_cast<arrow::UInt32Array>(ids.make_array());
}

Result<std::vector<int64_t>> KeyTable::Compact(const std::vector<uint8_t>& live) {
  std::vector<int64_t> new_ids(size(), -1);
  std::vector<uint32_t> kept;
  for (uint32_t id = 0; id < size(); ++id) {
    if (id < live.size() && live[id]) {
      new_ids[id] = static_cast<int64_t>(kept.size());
      kept.push_back(id);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto columns,
                        Keys(kept.data(), static_cast<int64_t>(kept.size())));
  ARROW_RETURN_NOT_OK(Load(columns));
  return new_ids;
}

Status KeyTable::Load(const std::vector<std::shared_ptr<arrow::Array>>& columns) {
  // A fresh table numbers distinct keys in order of appearance, so the rows get ids
  // 0, 1, 2, ...
  ARROW_RETURN_NOT_OK(Reset());
  const int64_t num_keys = columns.empty() ? 0 : columns[0]->length();
  if (num_keys == 0) return Status::OK();
  arrow::FieldVector fields;
  std::vector<int> indices;
  for (size_t k = 0; k < columns.size(); ++k) {
    std::ostringstream name;
    name << "key" << k;
    fields.push_back(arrow::field(name.str(), columns[k]->type()));
    indices.push_back(static_cast<int>(k));
  }
  auto batch = arrow::RecordBatch::Make(arrow::schema(fields), num_keys, columns);
  const std::vector<int> original = key_indices_;
  key_indices_ = indices;
  auto mapped = Map(*batch);
  key_indices_ = original;
  return mapped.status();
}

Status KeyTable::Serialize(std::string* out) {
  std::vector<uint32_t> ids(size());
  for (uint32_t id = 0; id < ids.size(); ++id) ids[id] = id;
  ARROW_ASSIGN_OR_RAISE(auto columns, Keys(ids.data(), static_cast<int64_t>(ids.size())));
  arrow::FieldVector fields;
  for (size_t k = 0; k < columns.size(); ++k) {
    std::ostringstream name;
    name << "key" << k;
    fields.push_back(arrow::field(name.str(), key_types_[k].GetSharedPtr()));
  }
  auto schema = arrow::schema(fields);
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeStreamWriter(sink, schema));
  ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(
      *arrow::RecordBatch::Make(schema, static_cast<int64_t>(ids.size()), columns)));
  ARROW_RETURN_NOT_OK(writer->Close());
  ARROW_ASSIGN_OR_RAISE(auto buffer, sink->Finish());
  StateCodec<std::string>::Append(buffer->ToString(), out);
  return Status::OK();
}

Status KeyTable::Deserialize(std::string_view* in) {
  ARROW_ASSIGN_OR_RAISE(std::string bytes, StateCodec<std::string>::Read(in));
  auto input =
      std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes));
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchStreamReader::Open(input));
  ARROW_ASSIGN_OR_RAISE(auto table, reader->ToTable());
  ARROW_ASSIGN_OR_RAISE(table, table->CombineChunks());
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (const auto& column : table->columns()) {
    if (column->num_chunks() > 0) columns.push_back(column->chunk(0));
  }
  if (columns.size() != key_types_.size() && table->num_rows() > 0) {
    return Status::IOError("key state has ", columns.size(), " columns, expected ",
                           key_types_.size());
  }
  return Load(columns);
}

Result<std::vector<std::shared_ptr<arrow::Array>>> KeyTable::Keys(const uint32_t* ids,
                                                                  int64_t count) {
  if (integer_key_) {
    arrow::Int64Builder builder;
    ARROW_RETURN_NOT_OK(builder.Reserve(count));
    for (int64_t i = 0; i < count; ++i) {
      if (null_by_id_[ids[i]]) {
        builder.UnsafeAppendNull();
      } else {
        builder.UnsafeAppend(values_by_id_[ids[i]]);
      }
    }
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Array> keys, builder.Finish());
    if (!key_types_[0].type->Equals(*arrow::int64())) {
      ARROW_ASSIGN_OR_RAISE(
          arrow::Datum cast,
          cp::Cast(keys, cp::CastOptions::Unsafe(key_types_[0].GetSharedPtr())));
      keys = cast.make_array();
    }
    return std::vector<std::shared_ptr<arrow::Array>>{std::move(keys)};
  }
  if (uniques_size_ != grouper_->num_groups() || uniques_.empty()) {
    ARROW_ASSIGN_OR_RAISE(cp::ExecBatch uniques, grouper_->GetUniques());
    uniques_.clear();
    for (const arrow::Datum& column : uniques.values)
      uniques_.push_back(column.make_array());
    uniques_size_ = grouper_->num_groups();
  }
  auto indices = std::make_shared<arrow::UInt32Array>(
      count, arrow::Buffer::Wrap(ids, static_cast<size_t>(count)));
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (const auto& unique : uniques_) {
    ARROW_ASSIGN_OR_RAISE(auto taken, cp::Take(*unique, *indices));
    columns.push_back(std::move(taken));
  }
  return columns;
}

}  // namespace sabot
