// An expression bound to an input schema: types are resolved, so evaluation on a batch
// of that schema cannot fail for type reasons. Binding is where plan-time errors about
// expressions are produced.
#pragma once

#include <memory>

#include <arrow/compute/expression.h>
#include <arrow/type_fwd.h>

#include "sabot/common/status.h"
#include "sabot/expr/expression.h"

namespace sabot {

class BoundExpr {
 public:
  /// Binds `expr` to `schema`. Fails with a message naming the expression and what to
  /// change when a column is unknown or a function has no kernel for the input types.
  static Result<BoundExpr> Bind(const Expr& expr,
                                const std::shared_ptr<arrow::Schema>& schema);

  /// Evaluates over a batch of the bound schema; returns an array of the batch's length
  /// or a scalar when the expression is constant.
  Result<arrow::Datum> Evaluate(const arrow::RecordBatch& batch) const;

  const std::shared_ptr<arrow::DataType>& type() const { return type_; }
  const Expr& expr() const { return expr_; }

 private:
  BoundExpr(Expr expr, arrow::compute::Expression bound,
            std::shared_ptr<arrow::DataType> type);

  Expr expr_;
  arrow::compute::Expression bound_;
  std::shared_ptr<arrow::DataType> type_;
};

}  // namespace sabot
