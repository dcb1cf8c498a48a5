#include "sabot/runtime/exchange.h"

#include <arrow/api.h>

#include "sabot/types/key_groups.h"
#include "sabot/types/row_selection.h"

namespace sabot {

ExchangeWriter::ExchangeWriter(Partitioning partitioning,
                               std::vector<ChannelTarget> targets,
                               std::vector<int> key_indices, int32_t max_parallelism,
                               int producer_subtask)
    : partitioning_(partitioning),
      targets_(std::move(targets)),
      key_indices_(std::move(key_indices)),
      max_parallelism_(max_parallelism),
      // Producers start round-robin at different consumers to spread load evenly.
      next_target_(static_cast<size_t>(producer_subtask) % targets_.size()) {
  if (partitioning_ == Partitioning::kHash) {
    const int32_t num_targets = static_cast<int32_t>(targets_.size());
    subtask_of_key_group_.resize(max_parallelism_);
    for (int32_t group = 0; group < max_parallelism_; ++group) {
      subtask_of_key_group_[group] =
          SubtaskForKeyGroup(group, max_parallelism_, num_targets);
    }
  }
}

Status ExchangeWriter::Collect(std::shared_ptr<arrow::RecordBatch> batch) {
  if (batch->num_rows() == 0) return Status::OK();
  switch (partitioning_) {
    case Partitioning::kForward:
      return targets_[0].gate->Push(targets_[0].channel,
                                    StreamElement::Batch(std::move(batch)));
    case Partitioning::kRebalance: {
      const ChannelTarget& target = targets_[next_target_];
      next_target_ = (next_target_ + 1) % targets_.size();
      return target.gate->Push(target.channel, StreamElement::Batch(std::move(batch)));
    }
    case Partitioning::kBroadcast:
      return Broadcast(StreamElement::Batch(std::move(batch)));
    case Partitioning::kHash:
      return PartitionByHash(batch);
  }
  return Status::Invalid("unknown partitioning");
}

Status ExchangeWriter::PartitionByHash(const std::shared_ptr<arrow::RecordBatch>& batch) {
  const int num_targets = static_cast<int>(targets_.size());
  const int64_t num_rows = batch->num_rows();
  ARROW_RETURN_NOT_OK(HashKeyColumns(*batch, key_indices_, &hashes_));
  row_targets_.resize(num_rows);
  std::vector<int64_t> counts(num_targets + 1, 0);
  for (int64_t i = 0; i < num_rows; ++i) {
    int32_t target = subtask_of_key_group_[KeyGroupForHash(hashes_[i], max_parallelism_)];
    row_targets_[i] = target;
    ++counts[target + 1];
  }
  for (int t = 0; t < num_targets; ++t) {
    if (counts[t + 1] == num_rows) {  // all rows go to one consumer: no copy
      return targets_[t].gate->Push(targets_[t].channel, StreamElement::Batch(batch));
    }
  }
  // Counting sort of row indices by target, then one Take per target.
  for (int t = 0; t < num_targets; ++t) counts[t + 1] += counts[t];
  ARROW_ASSIGN_OR_RAISE(auto buffer, arrow::AllocateBuffer(num_rows * sizeof(int32_t)));
  auto* indices = reinterpret_cast<int32_t*>(buffer->mutable_data());
  std::vector<int64_t> cursor(counts.begin(), counts.end() - 1);
  for (int64_t i = 0; i < num_rows; ++i) {
    indices[cursor[row_targets_[i]]++] = static_cast<int32_t>(i);
  }
  auto all_indices = std::make_shared<arrow::Int32Array>(num_rows, std::move(buffer));
  for (int t = 0; t < num_targets; ++t) {
    int64_t begin = counts[t], length = counts[t + 1] - counts[t];
    if (length == 0) continue;
    ARROW_ASSIGN_OR_RAISE(auto part,
                          TakeRows(batch, std::static_pointer_cast<arrow::Int32Array>(
                                              all_indices->Slice(begin, length))));
    ARROW_RETURN_NOT_OK(targets_[t].gate->Push(targets_[t].channel,
                                               StreamElement::Batch(std::move(part))));
  }
  return Status::OK();
}

Status ExchangeWriter::Broadcast(const StreamElement& element) {
  for (const ChannelTarget& target : targets_) {
    ARROW_RETURN_NOT_OK(target.gate->Push(target.channel, element));
  }
  return Status::OK();
}

Status ExchangeWriter::EmitWatermark(int64_t watermark) {
  return Broadcast(StreamElement::Watermark(watermark));
}

Status ExchangeWriter::EmitIdleStatus(bool idle) {
  return Broadcast(StreamElement::IdleStatus(idle));
}

Status ExchangeWriter::EmitBarrier(int64_t checkpoint_id) {
  return Broadcast(StreamElement::Barrier(checkpoint_id));
}

Status ExchangeWriter::EmitEndOfInput() { return Broadcast(StreamElement::EndOfInput()); }

}  // namespace sabot
