#include "sabot/operators/aggregate/key_redistribution.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>

#include "sabot/operators/aggregate/aggregator_set.h"

namespace sabot {

Result<SnapshotKeys> ReadSnapshotKeys(std::string_view* in,
                                      const std::shared_ptr<arrow::Schema>& input_schema,
                                      const std::vector<int>& key_indices,
                                      int32_t max_parallelism) {
  ARROW_ASSIGN_OR_RAISE(auto table, KeyTable::Make(*input_schema, key_indices));
  ARROW_RETURN_NOT_OK(table->Deserialize(in));
  const int64_t count = table->size();
  std::vector<uint32_t> ids(static_cast<size_t>(count));
  for (uint32_t id = 0; id < ids.size(); ++id) ids[id] = id;
  ARROW_ASSIGN_OR_RAISE(auto key_columns, table->Keys(ids.data(), count));
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (int i = 0; i < input_schema->num_fields(); ++i) {
    columns.push_back(nullptr);
  }
  for (size_t k = 0; k < key_indices.size(); ++k) {
    columns[key_indices[k]] = key_columns[k];
  }
  for (int i = 0; i < input_schema->num_fields(); ++i) {
    if (columns[i]) continue;
    ARROW_ASSIGN_OR_RAISE(columns[i],
                          arrow::MakeArrayOfNull(input_schema->field(i)->type(), count));
  }
  SnapshotKeys keys;
  keys.rows = arrow::RecordBatch::Make(input_schema, count, std::move(columns));
  std::vector<uint64_t> hashes;
  ARROW_RETURN_NOT_OK(HashKeyColumns(*keys.rows, key_indices, &hashes));
  keys.key_groups.reserve(hashes.size());
  for (uint64_t hash : hashes) {
    keys.key_groups.push_back(KeyGroupForHash(hash, max_parallelism));
  }
  return keys;
}

Result<std::vector<int64_t>> AddKeysInRange(
    const SnapshotKeys& snapshot, KeyGroupRange range, KeyTable* keys,
    std::shared_ptr<arrow::RecordBatch>* rows,
    std::shared_ptr<arrow::UInt32Array>* row_ids) {
  const int64_t count = snapshot.rows->num_rows();
  arrow::Int32Builder kept_builder;
  for (int64_t id = 0; id < count; ++id) {
    if (range.Contains(snapshot.key_groups[id])) {
      ARROW_RETURN_NOT_OK(kept_builder.Append(static_cast<int32_t>(id)));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto kept, kept_builder.Finish());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, arrow::compute::Take(snapshot.rows, kept));
  std::shared_ptr<arrow::RecordBatch> kept_rows = taken.record_batch();
  ARROW_ASSIGN_OR_RAISE(auto new_ids, keys->Map(*kept_rows));
  std::vector<int64_t> new_id_of_old(static_cast<size_t>(count), -1);
  const auto& kept_ids = static_cast<const arrow::Int32Array&>(*kept);
  for (int64_t i = 0; i < kept_ids.length(); ++i) {
    new_id_of_old[kept_ids.Value(i)] = new_ids->Value(i);
  }
  if (rows != nullptr) *rows = std::move(kept_rows);
  if (row_ids != nullptr) *row_ids = std::move(new_ids);
  return new_id_of_old;
}

Status MergeRenamedSlots(const AggregatorSet& from, const std::vector<int64_t>& new_ids,
                         AggregatorSet* to) {
  if (from.num_slots() > new_ids.size()) {
    return Status::IOError("aggregation state has ", from.num_slots(),
                           " slots for a key table of ", new_ids.size(), " keys");
  }
  std::vector<uint32_t> from_slots;
  std::vector<uint32_t> to_slots;
  uint32_t num_slots = to->num_slots();
  for (uint32_t slot = 0; slot < from.num_slots(); ++slot) {
    if (new_ids[slot] < 0) continue;
    from_slots.push_back(slot);
    to_slots.push_back(static_cast<uint32_t>(new_ids[slot]));
    num_slots = std::max(num_slots, to_slots.back() + 1);
  }
  to->Resize(num_slots);
  return to->Merge(from, from_slots.data(), to_slots.data(),
                   static_cast<int64_t>(from_slots.size()));
}

Result<KeyedStateKeys> KeyedStateKeys::Make(const arrow::Schema& input_schema,
                                            const std::vector<int>& key_indices,
                                            int32_t max_parallelism) {
  ARROW_ASSIGN_OR_RAISE(auto encoder,
                        KeyEncoder::Make(input_schema, key_indices, max_parallelism));
  return KeyedStateKeys(std::move(encoder));
}

Status KeyedStateKeys::Extend(const arrow::RecordBatch& batch, const uint32_t* ids) {
  bool any_new = false;
  for (int64_t i = 0; i < batch.num_rows() && !any_new; ++i) any_new = ids[i] >= size();
  if (!any_new) return Status::OK();
  ARROW_RETURN_NOT_OK(encoder_.Encode(batch));
  for (int64_t i = 0; i < batch.num_rows(); ++i) {
    if (ids[i] != size()) continue;
    const StateKey state_key = encoder_.key(i);
    bytes_.append(state_key.bytes);
    offsets_.push_back(static_cast<int64_t>(bytes_.size()));
    key_groups_.push_back(state_key.key_group);
  }
  return Status::OK();
}

}  // namespace sabot
