// Expressions over the columns of a stream: col("amount") > 1000, arithmetic,
// comparison, boolean logic, string functions, cast, is_null. An Expr is an immutable
// value; it is bound to a schema at plan time (BoundExpr, bound_expression.h), which is
// where unknown columns and type mismatches are reported, and evaluated by Arrow compute
// on whole batches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace arrow {
class DataType;
namespace compute {
class Expression;
}  // namespace compute
}  // namespace arrow

namespace sabot {

class Expr {
 public:
  /// Wraps an Arrow compute expression; `name` is the output column name in a
  /// projection (empty: derived from the expression).
  explicit Expr(arrow::compute::Expression expression, std::string name = "");

  /// Returns a copy that a projection names `name`.
  Expr As(std::string name) const;

  /// Returns the output column name: the alias, else the column name of a plain column
  /// reference, else the expression's text.
  std::string OutputName() const;

  /// Returns the expression's text, e.g. (amount > 1000).
  std::string ToString() const;

  const arrow::compute::Expression& arrow_expression() const { return *expression_; }

 private:
  std::shared_ptr<const arrow::compute::Expression> expression_;
  std::string name_;
};

/// Returns a reference to the column `name`.
Expr col(std::string name);

/// Literals.
Expr lit(int64_t value);
Expr lit(int value);
Expr lit(double value);
Expr lit(bool value);
Expr lit(std::string value);
Expr lit(const char* value);

/// Arithmetic (checked: overflow is an error, not a wrap-around).
Expr operator+(const Expr& left, const Expr& right);
Expr operator-(const Expr& left, const Expr& right);
Expr operator*(const Expr& left, const Expr& right);
Expr operator/(const Expr& left, const Expr& right);

/// Comparison.
Expr operator==(const Expr& left, const Expr& right);
Expr operator!=(const Expr& left, const Expr& right);
Expr operator<(const Expr& left, const Expr& right);
Expr operator<=(const Expr& left, const Expr& right);
Expr operator>(const Expr& left, const Expr& right);
Expr operator>=(const Expr& left, const Expr& right);

/// Boolean logic with SQL (Kleene) semantics for nulls.
Expr operator&&(const Expr& left, const Expr& right);
Expr operator||(const Expr& left, const Expr& right);
Expr operator!(const Expr& operand);

/// Mixed forms so that `col("amount") > 1000` and `col("x") * 2.5` read naturally.
template <typename T>
concept LiteralValue = std::is_arithmetic_v<T> || std::is_convertible_v<T, std::string>;
#define SABOT_EXPR_LITERAL_OPERATOR(op)         \
  template <LiteralValue T>                     \
  Expr operator op(const Expr& left, T right) { \
    return left op lit(right);                  \
  }                                             \
  template <LiteralValue T>                     \
  Expr operator op(T left, const Expr& right) { \
    return lit(left) op right;                  \
  }
SABOT_EXPR_LITERAL_OPERATOR(+)
SABOT_EXPR_LITERAL_OPERATOR(-)
SABOT_EXPR_LITERAL_OPERATOR(*)
SABOT_EXPR_LITERAL_OPERATOR(/)
SABOT_EXPR_LITERAL_OPERATOR(==)
SABOT_EXPR_LITERAL_OPERATOR(!=)
SABOT_EXPR_LITERAL_OPERATOR(<)
SABOT_EXPR_LITERAL_OPERATOR(<=)
SABOT_EXPR_LITERAL_OPERATOR(>)
SABOT_EXPR_LITERAL_OPERATOR(>=)
#undef SABOT_EXPR_LITERAL_OPERATOR

/// Null tests.
Expr IsNull(const Expr& operand);
Expr IsValid(const Expr& operand);

/// Cast to another Arrow type (safe cast: overflow or invalid strings are errors).
Expr Cast(const Expr& operand, std::shared_ptr<arrow::DataType> type);

/// String functions (UTF-8).
Expr Lower(const Expr& operand);
Expr Upper(const Expr& operand);
Expr Length(const Expr& operand);
Expr Contains(const Expr& operand, std::string substring);
Expr StartsWith(const Expr& operand, std::string prefix);
Expr EndsWith(const Expr& operand, std::string suffix);
Expr Concat(const std::vector<Expr>& operands);

/// Numeric functions.
Expr Abs(const Expr& operand);
Expr Round(const Expr& operand, int64_t digits);

/// Calls any Arrow compute function by name, for what the helpers above do not cover.
Expr Call(std::string function, std::vector<Expr> arguments);

}  // namespace sabot
