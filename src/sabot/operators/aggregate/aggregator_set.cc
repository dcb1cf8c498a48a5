#include "sabot/operators/aggregate/aggregator_set.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "sabot/operators/aggregate/builtin_aggregators.h"
#include "sabot/operators/aggregate/consumed_column.h"
#include "sabot/state/state_codec.h"

namespace sabot {

Result<PreparedRows> PrepareRows(const std::vector<ResolvedAggregate>& aggregates,
                                 const arrow::RecordBatch& batch, int time_index) {
  PreparedRows rows;
  rows.length = batch.num_rows();
  if (time_index >= 0) rows.time_data = batch.column_data(time_index);
  for (const ResolvedAggregate& aggregate : aggregates) {
    if (aggregate.input < 0) {
      rows.inputs.emplace_back();
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto input, ToConsumedType(batch.column_data(aggregate.input),
                                                     aggregate.consumed_type));
    rows.inputs.push_back(std::move(input));
  }
  return rows;
}

const int64_t* PreparedRows::times() const {
  return time_data ? time_data->GetValues<int64_t>(1) : nullptr;
}

Result<PreparedRows> TakePreparedRows(const PreparedRows& rows,
                                      const arrow::Array& indices) {
  PreparedRows taken;
  taken.length = indices.length();
  auto take = [&](const std::shared_ptr<arrow::ArrayData>& data)
      -> Result<std::shared_ptr<arrow::ArrayData>> {
    if (!data) return data;
    ARROW_ASSIGN_OR_RAISE(
        arrow::Datum result,
        arrow::compute::Take(arrow::Datum(data), arrow::Datum(indices)));
    return result.array();
  };
  for (const auto& input : rows.inputs) {
    ARROW_ASSIGN_OR_RAISE(auto column, take(input));
    taken.inputs.push_back(std::move(column));
  }
  ARROW_ASSIGN_OR_RAISE(taken.time_data, take(rows.time_data));
  return taken;
}

Result<std::unique_ptr<AggregatorSet>> AggregatorSet::Make(
    const std::vector<ResolvedAggregate>& aggregates, bool track_time_span) {
  std::unique_ptr<AggregatorSet> set(new AggregatorSet());
  for (const auto& aggregate : aggregates)
    set->output_fields_.push_back(aggregate.output_field);
  set->track_time_span_ = track_time_span;
  for (const ResolvedAggregate& aggregate : aggregates) {
    ARROW_ASSIGN_OR_RAISE(auto aggregator, MakeAggregator(aggregate));
    set->aggregators_.push_back(std::move(aggregator));
  }
  return set;
}

void AggregatorSet::Resize(uint32_t num_slots) {
  if (num_slots <= rows_.size()) return;
  rows_.resize(num_slots, 0);
  if (track_time_span_) {
    min_time_.resize(num_slots, std::numeric_limits<int64_t>::max());
    max_time_.resize(num_slots, std::numeric_limits<int64_t>::min());
  }
  for (auto& aggregator : aggregators_) aggregator->Resize(num_slots);
}

Status AggregatorSet::Consume(const PreparedRows& rows, const uint32_t* slots) {
  for (int64_t i = 0; i < rows.length; ++i) ++rows_[slots[i]];
  const int64_t* times = rows.times();
  if (track_time_span_ && times != nullptr) {
    for (int64_t i = 0; i < rows.length; ++i) {
      min_time_[slots[i]] = std::min(min_time_[slots[i]], times[i]);
      max_time_[slots[i]] = std::max(max_time_[slots[i]], times[i]);
    }
  }
  for (size_t a = 0; a < aggregators_.size(); ++a) {
    AggregateInput input{rows.inputs[a].get(), times, rows.length};
    ARROW_RETURN_NOT_OK(aggregators_[a]->Consume(input, slots));
  }
  return Status::OK();
}

Status AggregatorSet::Merge(const AggregatorSet& from, const uint32_t* from_slots,
                            const uint32_t* to_slots, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    rows_[to_slots[i]] += from.rows_[from_slots[i]];
    if (track_time_span_) {
      min_time_[to_slots[i]] =
          std::min(min_time_[to_slots[i]], from.min_time_[from_slots[i]]);
      max_time_[to_slots[i]] =
          std::max(max_time_[to_slots[i]], from.max_time_[from_slots[i]]);
    }
  }
  for (size_t a = 0; a < aggregators_.size(); ++a) {
    ARROW_RETURN_NOT_OK(
        aggregators_[a]->Merge(*from.aggregators_[a], from_slots, to_slots, count));
  }
  return Status::OK();
}

void AggregatorSet::Reset(const uint32_t* slots, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    rows_[slots[i]] = 0;
    if (track_time_span_) {
      min_time_[slots[i]] = std::numeric_limits<int64_t>::max();
      max_time_[slots[i]] = std::numeric_limits<int64_t>::min();
    }
  }
  for (auto& aggregator : aggregators_) aggregator->Reset(slots, count);
}

Status AggregatorSet::Serialize(std::string* out) const {
  for (const auto* values : {&rows_, &min_time_, &max_time_}) {
    StateCodec<int64_t>::Append(static_cast<int64_t>(values->size()), out);
    out->append(reinterpret_cast<const char*>(values->data()),
                values->size() * sizeof(int64_t));
  }
  for (size_t a = 0; a < aggregators_.size(); ++a) {
    Status status = aggregators_[a]->Serialize(out);
    if (!status.ok()) return NameAggregate(a, status);
  }
  return Status::OK();
}

Status AggregatorSet::Deserialize(std::string_view* in) {
  for (auto* values : {&rows_, &min_time_, &max_time_}) {
    ARROW_ASSIGN_OR_RAISE(int64_t size, StateCodec<int64_t>::Read(in));
    const size_t bytes = static_cast<size_t>(size) * sizeof(int64_t);
    if (size < 0 || in->size() < bytes)
      return Status::IOError("aggregate state is truncated");
    values->resize(size);
    // An empty vector may have no buffer: memcpy must not see a null pointer.
    if (bytes > 0) std::memcpy(values->data(), in->data(), bytes);
    in->remove_prefix(bytes);
  }
  for (auto& aggregator : aggregators_) ARROW_RETURN_NOT_OK(aggregator->Deserialize(in));
  return Status::OK();
}

Status AggregatorSet::SerializeSlot(uint32_t slot, std::string* out) const {
  ARROW_RETURN_NOT_OK(CheckSlot(slot));
  StateCodec<int64_t>::Append(rows_[slot], out);
  if (track_time_span_) {
    StateCodec<int64_t>::Append(min_time_[slot], out);
    StateCodec<int64_t>::Append(max_time_[slot], out);
  }
  for (size_t a = 0; a < aggregators_.size(); ++a) {
    Status status = aggregators_[a]->SerializeSlot(slot, out);
    if (!status.ok()) return NameAggregate(a, status);
  }
  return Status::OK();
}

Status AggregatorSet::DeserializeSlot(uint32_t slot, std::string_view in) {
  ARROW_RETURN_NOT_OK(CheckSlot(slot));
  auto read = [&]() -> Status {
    ARROW_ASSIGN_OR_RAISE(rows_[slot], StateCodec<int64_t>::Read(&in));
    if (rows_[slot] < 0) return Status::IOError("corrupt aggregate state: negative rows");
    if (track_time_span_) {
      ARROW_ASSIGN_OR_RAISE(min_time_[slot], StateCodec<int64_t>::Read(&in));
      ARROW_ASSIGN_OR_RAISE(max_time_[slot], StateCodec<int64_t>::Read(&in));
    }
    for (size_t a = 0; a < aggregators_.size(); ++a) {
      Status status = aggregators_[a]->DeserializeSlot(slot, &in);
      if (!status.ok()) return NameAggregate(a, status);
    }
    if (!in.empty()) {
      return Status::IOError("aggregate state has ", in.size(), " trailing bytes");
    }
    return Status::OK();
  };
  Status status = read();
  // A failed load must not leave a mix of the old and the stored state behind.
  if (!status.ok()) Reset(&slot, 1);
  return status;
}

Status AggregatorSet::NameAggregate(size_t a, const Status& status) const {
  return status.WithMessage("aggregate '", output_fields_[a]->name(),
                            "': ", status.message());
}

Status AggregatorSet::CheckSlot(uint32_t slot) const {
  if (slot >= num_slots()) {
    return Status::IndexError("slot ", slot, " does not exist; the set has ", num_slots(),
                              " slots");
  }
  return Status::OK();
}

Result<std::vector<std::shared_ptr<arrow::Array>>> AggregatorSet::Finish(
    const uint32_t* slots, int64_t count) const {
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (size_t a = 0; a < aggregators_.size(); ++a) {
    ARROW_ASSIGN_OR_RAISE(auto result, aggregators_[a]->Finish(slots, count));
    ARROW_ASSIGN_OR_RAISE(result, ToOutputType(result, output_fields_[a]->type()));
    if (result->length() != count) {
      return Status::Invalid("aggregate '", output_fields_[a]->name(), "' returned ",
                             result->length(), " values for ", count, " groups");
    }
    columns.push_back(std::move(result));
  }
  return columns;
}

}  // namespace sabot
