#include "sabot/expr/expression.h"

#include <arrow/compute/api.h>
#include <arrow/compute/expression.h>

namespace sabot {

namespace cp = arrow::compute;

Expr::Expr(cp::Expression expression, std::string name)
    : expression_(std::make_shared<const cp::Expression>(std::move(expression))),
      name_(std::move(name)) {}

Expr Expr::As(std::string name) const { return Expr(*expression_, std::move(name)); }

std::string Expr::OutputName() const {
  if (!name_.empty()) return name_;
  if (const auto* ref = expression_->field_ref(); ref != nullptr && ref->IsName()) {
    return *ref->name();
  }
  return ToString();
}

std::string Expr::ToString() const { return expression_->ToString(); }

Expr col(std::string name) { return Expr(cp::field_ref(std::move(name))); }

Expr lit(int64_t value) { return Expr(cp::literal(value)); }
Expr lit(int value) { return Expr(cp::literal(static_cast<int64_t>(value))); }
Expr lit(double value) { return Expr(cp::literal(value)); }
Expr lit(bool value) { return Expr(cp::literal(value)); }
Expr lit(std::string value) { return Expr(cp::literal(std::move(value))); }
Expr lit(const char* value) { return Expr(cp::literal(std::string(value))); }

namespace {

Expr CallArrow(const std::string& function, const std::vector<Expr>& arguments,
               std::shared_ptr<cp::FunctionOptions> options = nullptr) {
  std::vector<cp::Expression> args;
  args.reserve(arguments.size());
  for (const auto& argument : arguments) args.push_back(argument.arrow_expression());
  return Expr(cp::call(function, std::move(args), std::move(options)));
}

}  // namespace

Expr operator+(const Expr& l, const Expr& r) { return CallArrow("add_checked", {l, r}); }
Expr operator-(const Expr& l, const Expr& r) {
  return CallArrow("subtract_checked", {l, r});
}
Expr operator*(const Expr& l, const Expr& r) {
  return CallArrow("multiply_checked", {l, r});
}
Expr operator/(const Expr& l, const Expr& r) {
  return CallArrow("divide_checked", {l, r});
}

Expr operator==(const Expr& l, const Expr& r) { return CallArrow("equal", {l, r}); }
Expr operator!=(const Expr& l, const Expr& r) { return CallArrow("not_equal", {l, r}); }
Expr operator<(const Expr& l, const Expr& r) { return CallArrow("less", {l, r}); }
Expr operator<=(const Expr& l, const Expr& r) { return CallArrow("less_equal", {l, r}); }
Expr operator>(const Expr& l, const Expr& r) { return CallArrow("greater", {l, r}); }
Expr operator>=(const Expr& l, const Expr& r) {
  return CallArrow("greater_equal", {l, r});
}

Expr operator&&(const Expr& l, const Expr& r) { return CallArrow("and_kleene", {l, r}); }
Expr operator||(const Expr& l, const Expr& r) { return CallArrow("or_kleene", {l, r}); }
Expr operator!(const Expr& operand) { return CallArrow("invert", {operand}); }

Expr IsNull(const Expr& operand) { return CallArrow("is_null", {operand}); }
Expr IsValid(const Expr& operand) { return CallArrow("is_valid", {operand}); }

Expr Cast(const Expr& operand, std::shared_ptr<arrow::DataType> type) {
  return CallArrow(
      "cast", {operand},
      std::make_shared<cp::CastOptions>(cp::CastOptions::Safe(std::move(type))));
}

Expr Lower(const Expr& operand) { return CallArrow("utf8_lower", {operand}); }
Expr Upper(const Expr& operand) { return CallArrow("utf8_upper", {operand}); }
Expr Length(const Expr& operand) { return CallArrow("utf8_length", {operand}); }
Expr Contains(const Expr& operand, std::string substring) {
  return CallArrow("match_substring", {operand},
                   std::make_shared<cp::MatchSubstringOptions>(std::move(substring)));
}
Expr StartsWith(const Expr& operand, std::string prefix) {
  return CallArrow("starts_with", {operand},
                   std::make_shared<cp::MatchSubstringOptions>(std::move(prefix)));
}
Expr EndsWith(const Expr& operand, std::string suffix) {
  return CallArrow("ends_with", {operand},
                   std::make_shared<cp::MatchSubstringOptions>(std::move(suffix)));
}
Expr Concat(const std::vector<Expr>& operands) {
  std::vector<Expr> arguments = operands;
  arguments.push_back(lit(""));  // binary_join_element_wise takes the separator last
  return CallArrow("binary_join_element_wise", arguments);
}

Expr Abs(const Expr& operand) { return CallArrow("abs_checked", {operand}); }
Expr Round(const Expr& operand, int64_t digits) {
  return CallArrow("round", {operand}, std::make_shared<cp::RoundOptions>(digits));
}

Expr Call(std::string function, std::vector<Expr> arguments) {
  return CallArrow(function, arguments);
}

}  // namespace sabot
