// The sending side of a non-chained plan edge, one per producer subtask: partitions
// batches over the channels of the consumer subtasks' input gates and broadcasts
// control elements to all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sabot/plan/logical_plan.h"
#include "sabot/runtime/input_gate.h"
#include "sabot/runtime/operator.h"

namespace sabot {

/// One consumer channel: the gate of a consumer subtask and this producer's channel in
/// it.
struct ChannelTarget {
  InputGate* gate = nullptr;
  int channel = 0;
};

class ExchangeWriter : public Collector {
 public:
  /// `targets` are indexed by consumer subtask (a single target for forward edges).
  /// `key_indices` are the key columns of a hash edge.
  ExchangeWriter(Partitioning partitioning, std::vector<ChannelTarget> targets,
                 std::vector<int> key_indices, int32_t max_parallelism,
                 int producer_subtask);

  Status Collect(std::shared_ptr<arrow::RecordBatch> batch) override;
  Status EmitWatermark(int64_t watermark) override;
  Status EmitIdleStatus(bool idle) override;
  Status EmitBarrier(int64_t checkpoint_id);
  Status EmitEndOfInput();

 private:
  Status Broadcast(const StreamElement& element);
  Status PartitionByHash(const std::shared_ptr<arrow::RecordBatch>& batch);

  Partitioning partitioning_;
  std::vector<ChannelTarget> targets_;
  std::vector<int> key_indices_;
  int32_t max_parallelism_;
  size_t next_target_;
  // Reused per batch by hash partitioning.
  std::vector<uint64_t> hashes_;
  std::vector<int32_t> row_targets_;
  // Owning subtask of every key group, computed once (saves a division per row).
  std::vector<int32_t> subtask_of_key_group_;
};

}  // namespace sabot
