#include "sabot/operators/aggregate/stored_running_aggregate.h"

#include <arrow/api.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sabot/operators/aggregate/aggregator_set.h"
#include "sabot/operators/aggregate/running_aggregate.h"
#include "sabot/runtime/operator.h"
#include "sabot/runtime/operator_backend.h"
#include "sabot/state/state_codec.h"
#include "sabot/state/state_factory.h"
#include "sabot/state/state_key.h"
#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

// A key (group and bytes) as operator state: the keys changed since the last
// emission, which emit-on-watermark keeps until the next watermark.
struct PendingKey {
  int32_t key_group;
  std::string bytes;
  bool operator==(const PendingKey& other) const {
    return key_group == other.key_group && bytes == other.bytes;
  }
};
struct PendingKeyHash {
  size_t operator()(const PendingKey& key) const {
    return std::hash<std::string_view>()(key.bytes);
  }
};

class StoredRunningAggregateOperator : public OperatorWithBackend<Operator> {
 public:
  explicit StoredRunningAggregateOperator(const RunningAggregateOptions& options)
      : options_(options) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    ARROW_RETURN_NOT_OK(backend_.Open(context));
    const int32_t max_parallelism =
        context.max_parallelism > 0 ? context.max_parallelism : kDefaultMaxParallelism;
    ARROW_ASSIGN_OR_RAISE(
        encoder_, KeyEncoder::Make(*options_.input_schema(), options_.key_indices(),
                                   max_parallelism));
    ARROW_ASSIGN_OR_RAISE(accumulators_,
                          MakeValueState<std::string>(
                              backend_.get(), {"running_aggregate.accumulators", {}}));
    ARROW_ASSIGN_OR_RAISE(work_, AggregatorSet::Make(options_.aggregates()));
    return Status::OK();
  }

  // Reads the accumulators of the batch's keys in one MultiGet, folds the rows in,
  // writes them back in one batch.
  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const int64_t num_rows = batch->num_rows();
    if (num_rows == 0) return Status::OK();
    ARROW_RETURN_NOT_OK(encoder_->Encode(*batch));
    keys_.clear();
    slot_of_row_.resize(num_rows);
    slot_of_bytes_.clear();
    for (int64_t i = 0; i < num_rows; ++i) {
      const StateKey key = encoder_->key(i);
      auto [it, added] =
          slot_of_bytes_.try_emplace(key.bytes, static_cast<uint32_t>(keys_.size()));
      if (added) keys_.push_back(key);
      slot_of_row_[i] = it->second;
    }
    const int64_t count = static_cast<int64_t>(keys_.size());
    ARROW_RETURN_NOT_OK(Load(keys_));
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows, PrepareRows(options_.aggregates(), *batch,
                                                         options_.time_index()));
    ARROW_RETURN_NOT_OK(work_->Consume(rows, slot_of_row_.data()));
    values_.resize(count);
    for (int64_t k = 0; k < count; ++k) {
      values_[k].clear();
      ARROW_RETURN_NOT_OK(work_->SerializeSlot(static_cast<uint32_t>(k), &values_[k]));
    }
    ARROW_RETURN_NOT_OK(accumulators_->UpdateBatch(keys_.data(), count, values_.data()));
    if (options_.emit() == EmitMode::kOnUpdate) return EmitSlots(keys_);
    for (const StateKey& key : keys_) {
      pending_.insert({key.key_group, std::string(key.bytes)});
    }
    return Status::OK();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (options_.emit() == EmitMode::kOnWatermark && !pending_.empty()) {
      std::vector<PendingKey> pending(pending_.begin(), pending_.end());
      pending_.clear();
      std::vector<StateKey> keys;
      keys.reserve(pending.size());
      for (const PendingKey& key : pending) keys.push_back({key.key_group, key.bytes});
      ARROW_RETURN_NOT_OK(Load(keys));
      ARROW_RETURN_NOT_OK(EmitSlots(keys));
    }
    return output()->EmitWatermark(watermark);
  }

  // Snapshot: version (u8 1) | keys changed since the last emission | backend
  // snapshot (an incremental RocksDB handle in checkpoints, full in savepoints).
  Result<std::string> SnapshotState(int64_t id) override {
    std::string out;
    out.push_back(1);
    StateCodec<int64_t>::Append(static_cast<int64_t>(pending_.size()), &out);
    for (const PendingKey& key : pending_) {
      StateCodec<int32_t>::Append(key.key_group, &out);
      StateCodec<std::string>::Append(key.bytes, &out);
    }
    ARROW_RETURN_NOT_OK(backend_.AppendSnapshot(id, snapshot_for_savepoint(), &out));
    return out;
  }

  // Keeps the pending keys and backend entries of this subtask's key groups.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    const KeyGroupRange& range = backend_->range();
    for (const std::string& state : states) {
      std::string_view in = state;
      ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(&in));
      if (version != 1) {
        return Status::IOError("running aggregate state version ",
                               static_cast<int>(version), " is not supported");
      }
      ARROW_ASSIGN_OR_RAISE(int64_t num_pending, StateCodec<int64_t>::Read(&in));
      for (int64_t i = 0; i < num_pending; ++i) {
        ARROW_ASSIGN_OR_RAISE(int32_t key_group, StateCodec<int32_t>::Read(&in));
        ARROW_ASSIGN_OR_RAISE(std::string bytes, StateCodec<std::string>::Read(&in));
        if (range.Contains(key_group)) pending_.insert({key_group, std::move(bytes)});
      }
      ARROW_RETURN_NOT_OK(backend_.RestoreSnapshot(&in));
      if (!in.empty()) {
        return Status::IOError("running aggregate state has trailing bytes");
      }
    }
    return Status::OK();
  }

  // The backend goes with the run: a RocksDB instance locks its directory until
  // closed, and the job object may outlive its tasks.
  Status Close() override {
    accumulators_.reset();
    backend_.Close();
    return Status::OK();
  }

 private:
  // Loads the accumulators of `keys` into slots 0 .. n-1 of work_ (empty if none).
  Status Load(const std::vector<StateKey>& keys) {
    const int64_t count = static_cast<int64_t>(keys.size());
    stored_.assign(count, std::nullopt);
    ARROW_RETURN_NOT_OK(accumulators_->GetBatch(keys.data(), count, stored_.data()));
    work_->Resize(static_cast<uint32_t>(count));
    slots_.resize(count);
    std::iota(slots_.begin(), slots_.end(), 0u);
    work_->Reset(slots_.data(), count);
    for (int64_t k = 0; k < count; ++k) {
      if (!stored_[k]) continue;
      ARROW_RETURN_NOT_OK(work_->DeserializeSlot(static_cast<uint32_t>(k), *stored_[k]));
    }
    return Status::OK();
  }

  // Emits the current value of `keys`, whose state is in slots 0 .. n-1 of work_,
  // ordered by key bytes so that the output does not depend on arrival order.
  Status EmitSlots(const std::vector<StateKey>& keys) {
    const int64_t count = static_cast<int64_t>(keys.size());
    if (count == 0) return Status::OK();
    std::vector<uint32_t> order(count);
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return keys[a].bytes < keys[b].bytes; });
    std::vector<std::string_view> bytes;
    bytes.reserve(count);
    for (uint32_t k : order) bytes.push_back(keys[k].bytes);
    ARROW_ASSIGN_OR_RAISE(auto columns, DecodeKeys(*options_.input_schema(),
                                                   options_.key_indices(), bytes));
    ARROW_ASSIGN_OR_RAISE(auto values, work_->Finish(order.data(), count));
    for (auto& value : values) columns.push_back(std::move(value));
    return output()->Collect(
        arrow::RecordBatch::Make(options_.output_schema(), count, std::move(columns)));
  }

  const RunningAggregateOptions& options_;
  std::optional<KeyEncoder> encoder_;
  std::unique_ptr<ValueState<std::string>> accumulators_;
  std::unique_ptr<AggregatorSet> work_;
  std::unordered_set<PendingKey, PendingKeyHash> pending_;
  // Reused per batch.
  std::vector<StateKey> keys_;
  std::vector<uint32_t> slot_of_row_;
  std::unordered_map<std::string_view, uint32_t> slot_of_bytes_;
  std::vector<std::optional<std::string>> stored_;
  std::vector<std::string> values_;
  std::vector<uint32_t> slots_;
};

}  // namespace

std::unique_ptr<Operator> MakeStoredRunningAggregateOperator(
    const RunningAggregateOptions& options) {
  return std::make_unique<StoredRunningAggregateOperator>(options);
}

}  // namespace sabot
