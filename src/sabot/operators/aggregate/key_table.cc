#include "sabot/operators/aggregate/key_table.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/row/grouper.h>

namespace sabot {

namespace cp = arrow::compute;

Result<std::unique_ptr<KeyTable>> KeyTable::Make(const arrow::Schema& schema,
                                                 std::vector<int> key_indices) {
  std::unique_ptr<KeyTable> table(new KeyTable());
  for (int index : key_indices)
    table->key_types_.emplace_back(schema.field(index)->type());
  table->key_indices_ = std::move(key_indices);
  ARROW_RETURN_NOT_OK(table->Reset());
  return table;
}

KeyTable::~KeyTable() = default;

Status KeyTable::Reset() {
  ARROW_ASSIGN_OR_RAISE(grouper_, cp::Grouper::Make(key_types_));
  uniques_.clear();
  uniques_size_ = 0;
  return Status::OK();
}

uint32_t KeyTable::size() const { return grouper_->num_groups(); }

Result<std::shared_ptr<arrow::UInt32Array>> KeyTable::Map(
    const arrow::RecordBatch& batch) {
  std::vector<arrow::Datum> keys;
  for (int index : key_indices_) keys.emplace_back(batch.column(index));
  cp::ExecBatch key_batch(std::move(keys), batch.num_rows());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum ids, grouper_->Consume(cp::ExecSpan(key_batch)));
  return std::static_pointer_cast<arrow::UInt32Array>(ids.make_array());
}

Result<std::vector<std::shared_ptr<arrow::Array>>> KeyTable::Keys(const uint32_t* ids,
                                                                  int64_t count) {
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
