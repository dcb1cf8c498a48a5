#include "sabot/operators/window/window_aggregate.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/row/grouper.h>

#include <algorithm>
#include <map>

#include "sabot/common/time.h"
#include "sabot/operators/window/accumulators.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/time/watermark_strategy.h"
#include "sabot/types/key_groups.h"
#include "sabot/types/row_selection.h"

namespace sabot {

namespace cp = arrow::compute;

namespace {

AggregateSpec Spec(AggregateKind kind, std::string column, const char* prefix) {
  std::string name = column.empty() ? prefix : std::string(prefix) + "_" + column;
  return {kind, std::move(column), std::move(name)};
}

// Floor division, so that negative event times fall into the right window.
inline int64_t WindowStart(int64_t timestamp, int64_t size) {
  int64_t remainder = timestamp % size;
  if (remainder < 0) remainder += size;
  // Unsigned: the window of a time near INT64_MIN wraps instead of overflowing.
  return static_cast<int64_t>(static_cast<uint64_t>(timestamp) -
                              static_cast<uint64_t>(remainder));
}

}  // namespace

AggregateSpec Count(std::string column) {
  return column.empty() ? Spec(AggregateKind::kCountAll, "", "count")
                        : Spec(AggregateKind::kCount, std::move(column), "count");
}
AggregateSpec Sum(std::string column) {
  return Spec(AggregateKind::kSum, std::move(column), "sum");
}
AggregateSpec Min(std::string column) {
  return Spec(AggregateKind::kMin, std::move(column), "min");
}
AggregateSpec Max(std::string column) {
  return Spec(AggregateKind::kMax, std::move(column), "max");
}
AggregateSpec Avg(std::string column) {
  return Spec(AggregateKind::kAvg, std::move(column), "avg");
}

TumblingWindow Tumbling(std::chrono::milliseconds size) { return {size.count()}; }

Result<std::shared_ptr<WindowAggregateOptions>> WindowAggregateOptions::Make(
    std::vector<std::string> key_columns, std::string time_column, TumblingWindow window,
    std::vector<AggregateSpec> aggregates,
    const std::shared_ptr<arrow::Schema>& input_schema) {
  if (window.size_ms <= 0) {
    return Status::Invalid("window size must be positive, got ", window.size_ms, " ms");
  }
  if (aggregates.empty())
    return Status::Invalid("Aggregate needs at least one aggregate");
  std::shared_ptr<WindowAggregateOptions> options(new WindowAggregateOptions());
  ARROW_ASSIGN_OR_RAISE(options->key_indices_,
                        ResolveKeyColumns(*input_schema, key_columns));
  ARROW_ASSIGN_OR_RAISE(options->time_index_,
                        ResolveTimeColumn(*input_schema, time_column));
  options->size_ms_ = window.size_ms;
  options->input_schema_ = input_schema;
  arrow::FieldVector fields;
  for (int index : options->key_indices_) fields.push_back(input_schema->field(index));
  fields.push_back(arrow::field("window_start", arrow::int64(), false));
  fields.push_back(arrow::field("window_end", arrow::int64(), false));
  for (const AggregateSpec& spec : aggregates) {
    int input = -1;
    std::shared_ptr<arrow::DataType> input_type;
    if (spec.kind != AggregateKind::kCountAll) {
      input = input_schema->GetFieldIndex(spec.column);
      if (input < 0) {
        return Status::Invalid("aggregate ", spec.output_name, ": unknown column '",
                               spec.column, "'");
      }
      input_type = input_schema->field(input)->type();
    }
    ARROW_ASSIGN_OR_RAISE(auto type, AggregateOutputType(spec, input_type));
    if (arrow::FieldRef(spec.output_name).FindOne(arrow::Schema(fields)).ok()) {
      return Status::Invalid("output column '", spec.output_name,
                             "' appears twice; rename an aggregate with .As(\"name\")");
    }
    fields.push_back(arrow::field(spec.output_name, type));
    options->aggregate_inputs_.push_back(input);
  }
  options->aggregates_ = std::move(aggregates);
  options->output_schema_ = arrow::schema(std::move(fields));
  return options;
}

std::string WindowAggregateOptions::Describe() const {
  std::string text = "window_aggregate(tumbling " + std::to_string(size_ms_) + " ms:";
  for (const auto& spec : aggregates_) text += " " + spec.output_name;
  return text + ")";
}

namespace {

class WindowAggregateOperator : public Operator {
 public:
  explicit WindowAggregateOperator(const WindowAggregateOptions& options)
      : key_indices_(options.key_indices()),
        time_index_(options.time_index()),
        size_(options.size_ms()),
        aggregates_(options.aggregates()),
        aggregate_inputs_(options.aggregate_inputs()),
        input_schema_(options.input_schema()),
        output_schema_(options.output_schema()) {
    for (int index : key_indices_)
      key_types_.emplace_back(input_schema_->field(index)->type());
    // Accumulate() sees only the needed columns: keys first, then aggregate inputs.
    for (int index : key_indices_) needed_columns_.push_back(index);
    for (int input : aggregate_inputs_) {
      if (input < 0) {
        needed_input_.push_back(-1);
        continue;
      }
      auto it = std::find(needed_columns_.begin(), needed_columns_.end(), input);
      needed_input_.push_back(static_cast<int>(it - needed_columns_.begin()));
      if (it == needed_columns_.end()) needed_columns_.push_back(input);
    }
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const auto& times = *batch->column_data(time_index_);
    const int64_t* ts = times.GetValues<int64_t>(1);
    const int64_t num_rows = batch->num_rows();
    // Window of each row; rows whose window already fired (late) or without a
    // timestamp get none.
    window_of_row_.resize(num_rows);
    bool single_window = true;
    int64_t late = 0;
    // Consecutive rows are close in time: reuse the previous row's window when the
    // timestamp falls into it, and divide only when it does not.
    int64_t start = WindowStart(num_rows > 0 ? ts[0] : 0, size_);
    for (int64_t i = 0; i < num_rows; ++i) {
      if (static_cast<uint64_t>(ts[i]) - static_cast<uint64_t>(start) >=
          static_cast<uint64_t>(size_)) {
        start = WindowStart(ts[i], size_);
      }
      const bool droppable = !times.IsValid(i) || start + size_ - 1 <= current_watermark_;
      late += droppable;
      window_of_row_[i] = droppable ? kNoWindow : start;
      single_window &= window_of_row_[i] == window_of_row_[0];
    }
    if (late > 0) context().metrics->AddRejected(late);
    // Only the key and aggregate input columns are accumulated (zero-copy selection).
    ARROW_ASSIGN_OR_RAISE(auto needed, batch->SelectColumns(needed_columns_));
    if (single_window) {
      if (num_rows == 0 || window_of_row_[0] == kNoWindow) return Status::OK();
      return Accumulate(window_of_row_[0], *needed);
    }
    // Rows of several windows (out-of-order input, or batches longer than a window):
    // a counting sort of row indices by window, then one gather per window.
    window_starts_.clear();
    slot_of_row_.resize(num_rows);
    int32_t last_slot = -1;
    for (int64_t i = 0; i < num_rows; ++i) {
      const int64_t start = window_of_row_[i];
      if (start == kNoWindow) {
        slot_of_row_[i] = -1;
        continue;
      }
      if (last_slot < 0 || window_starts_[last_slot] != start) {
        auto it = std::find(window_starts_.begin(), window_starts_.end(), start);
        last_slot = static_cast<int32_t>(it - window_starts_.begin());
        if (it == window_starts_.end()) window_starts_.push_back(start);
      }
      slot_of_row_[i] = last_slot;
    }
    const size_t num_slots = window_starts_.size();
    std::vector<int64_t> offsets(num_slots + 1, 0);
    for (int64_t i = 0; i < num_rows; ++i) {
      if (slot_of_row_[i] >= 0) ++offsets[slot_of_row_[i] + 1];
    }
    for (size_t w = 0; w < num_slots; ++w) offsets[w + 1] += offsets[w];
    ARROW_ASSIGN_OR_RAISE(auto buffer,
                          arrow::AllocateBuffer(offsets[num_slots] * sizeof(int32_t)));
    auto* indices = reinterpret_cast<int32_t*>(buffer->mutable_data());
    std::vector<int64_t> cursor(offsets.begin(), offsets.end() - 1);
    for (int64_t i = 0; i < num_rows; ++i) {
      if (slot_of_row_[i] >= 0)
        indices[cursor[slot_of_row_[i]]++] = static_cast<int32_t>(i);
    }
    auto all_indices =
        std::make_shared<arrow::Int32Array>(offsets[num_slots], std::move(buffer));
    for (size_t w = 0; w < num_slots; ++w) {
      auto slice = std::static_pointer_cast<arrow::Int32Array>(
          all_indices->Slice(offsets[w], offsets[w + 1] - offsets[w]));
      ARROW_ASSIGN_OR_RAISE(auto part, TakeRows(needed, slice));
      ARROW_RETURN_NOT_OK(Accumulate(window_starts_[w], *part));
    }
    return Status::OK();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= current_watermark_) return Status::OK();
    current_watermark_ = watermark;
    // Fire every window whose last millisecond the watermark has reached, oldest first.
    while (!windows_.empty() && windows_.begin()->first + size_ - 1 <= watermark) {
      auto node = windows_.extract(windows_.begin());
      ARROW_RETURN_NOT_OK(Fire(node.key(), node.mapped()));
    }
    return output()->EmitWatermark(watermark);
  }

 private:
  static constexpr int64_t kNoWindow = kMinWatermark;

  struct WindowState {
    std::unique_ptr<cp::Grouper> grouper;
    std::vector<std::unique_ptr<Accumulator>> accumulators;
  };

  Result<WindowState*> GetWindow(int64_t start) {
    auto it = windows_.find(start);
    if (it != windows_.end()) return &it->second;
    WindowState state;
    ARROW_ASSIGN_OR_RAISE(state.grouper, cp::Grouper::Make(key_types_));
    for (size_t a = 0; a < aggregates_.size(); ++a) {
      std::shared_ptr<arrow::DataType> input_type;
      if (aggregate_inputs_[a] >= 0)
        input_type = input_schema_->field(aggregate_inputs_[a])->type();
      ARROW_ASSIGN_OR_RAISE(auto accumulator,
                            MakeAccumulator(aggregates_[a], input_type));
      state.accumulators.push_back(std::move(accumulator));
    }
    return &windows_.emplace(start, std::move(state)).first->second;
  }

  // `rows` holds the needed columns only (see needed_columns_).
  Status Accumulate(int64_t start, const arrow::RecordBatch& rows) {
    ARROW_ASSIGN_OR_RAISE(WindowState * window, GetWindow(start));
    std::vector<arrow::Datum> keys;
    for (size_t k = 0; k < key_indices_.size(); ++k) keys.emplace_back(rows.column(k));
    cp::ExecBatch key_batch(std::move(keys), rows.num_rows());
    ARROW_ASSIGN_OR_RAISE(arrow::Datum ids,
                          window->grouper->Consume(cp::ExecSpan(key_batch)));
    const uint32_t* group_ids = ids.array()->GetValues<uint32_t>(1);
    const uint32_t num_groups = window->grouper->num_groups();
    for (size_t a = 0; a < aggregates_.size(); ++a) {
      Accumulator& accumulator = *window->accumulators[a];
      accumulator.Resize(num_groups);
      std::shared_ptr<arrow::ArrayData> column;
      if (needed_input_[a] >= 0) {
        ARROW_ASSIGN_OR_RAISE(column, NumericInput(rows.column_data(needed_input_[a])));
      }
      ARROW_RETURN_NOT_OK(accumulator.Consume(column.get(), group_ids, rows.num_rows()));
    }
    return Status::OK();
  }

  // Accumulators work on int64 and double; narrower numeric inputs are widened.
  static Result<std::shared_ptr<arrow::ArrayData>> NumericInput(
      const std::shared_ptr<arrow::ArrayData>& column) {
    const auto id = column->type->id();
    if (id == arrow::Type::INT64 || id == arrow::Type::DOUBLE || !arrow::is_numeric(id)) {
      return column;
    }
    auto target = arrow::is_integer(id) ? arrow::int64() : arrow::float64();
    ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, cp::Cast(arrow::Datum(column), target));
    return cast.array();
  }

  Status Fire(int64_t start, WindowState& window) {
    ARROW_ASSIGN_OR_RAISE(cp::ExecBatch uniques, window.grouper->GetUniques());
    const int64_t num_groups = window.grouper->num_groups();
    if (num_groups == 0) return Status::OK();
    std::vector<std::shared_ptr<arrow::Array>> columns;
    for (const arrow::Datum& key : uniques.values) columns.push_back(key.make_array());
    ARROW_ASSIGN_OR_RAISE(
        auto starts, arrow::MakeArrayFromScalar(arrow::Int64Scalar(start), num_groups));
    ARROW_ASSIGN_OR_RAISE(auto ends, arrow::MakeArrayFromScalar(
                                         arrow::Int64Scalar(start + size_), num_groups));
    columns.push_back(std::move(starts));
    columns.push_back(std::move(ends));
    for (auto& accumulator : window.accumulators) {
      ARROW_ASSIGN_OR_RAISE(auto values, accumulator->Finish());
      columns.push_back(std::move(values));
    }
    return output()->Collect(
        arrow::RecordBatch::Make(output_schema_, num_groups, columns));
  }

  const std::vector<int> key_indices_;
  const int time_index_;
  const int64_t size_;
  const std::vector<AggregateSpec> aggregates_;
  const std::vector<int> aggregate_inputs_;
  const std::shared_ptr<arrow::Schema> input_schema_;
  const std::shared_ptr<arrow::Schema> output_schema_;
  std::vector<arrow::TypeHolder> key_types_;
  std::map<int64_t, WindowState> windows_;  // open windows by start
  int64_t current_watermark_ = kMinWatermark;
  std::vector<int> needed_columns_;  // input columns Accumulate() reads
  std::vector<int> needed_input_;    // per aggregate: its column among them, or -1
  // Reused per batch.
  std::vector<int64_t> window_of_row_;
  std::vector<int32_t> slot_of_row_;
  std::vector<int64_t> window_starts_;
};

}  // namespace

Status RegisterWindowAggregate(OperatorRegistry* registry) {
  return registry->AddOperator(
      "window_aggregate",
      [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* typed,
                              CheckedOptionsCast<WindowAggregateOptions>(options));
        return std::make_unique<WindowAggregateOperator>(*typed);
      });
}

}  // namespace sabot
