#include "sabot/expr/bound_expression.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "sabot/common/initialize.h"

namespace sabot {

namespace cp = arrow::compute;

namespace {

// Returns "name: type, ..." for error messages.
std::string DescribeColumns(const arrow::Schema& schema) {
  std::string text;
  for (const auto& field : schema.fields()) {
    text += (text.empty() ? "" : ", ") + field->name() + ": " + field->type()->ToString();
  }
  return text;
}

}  // namespace

BoundExpr::BoundExpr(Expr expr, cp::Expression bound,
                     std::shared_ptr<arrow::DataType> type)
    : expr_(std::move(expr)), bound_(std::move(bound)), type_(std::move(type)) {}

Result<BoundExpr> BoundExpr::Bind(const Expr& expr,
                                  const std::shared_ptr<arrow::Schema>& schema) {
  ARROW_RETURN_NOT_OK(Initialize());
  for (const auto& ref : cp::FieldsInExpression(expr.arrow_expression())) {
    auto match = ref.FindOne(*schema);
    if (!match.ok()) {
      return Status::Invalid("unknown column ", ref.ToString(), " in expression ",
                             expr.ToString(),
                             "; available columns: ", DescribeColumns(*schema));
    }
  }
  auto bound = expr.arrow_expression().Bind(*schema);
  if (!bound.ok()) {
    return Status::TypeError("cannot evaluate ", expr.ToString(), " over columns (",
                             DescribeColumns(*schema), "): ", bound.status().message(),
                             "; use Cast(...) so that operand types match");
  }
  auto type = bound->type()->GetSharedPtr();
  return BoundExpr(expr, std::move(bound).ValueOrDie(), std::move(type));
}

Result<arrow::Datum> BoundExpr::Evaluate(const arrow::RecordBatch& batch) const {
  return cp::ExecuteScalarExpression(bound_, cp::ExecBatch(batch));
}

}  // namespace sabot
