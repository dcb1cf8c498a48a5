// sb.col("amount") > 1000: expressions are built in Python and evaluated by the engine
// on whole batches (Arrow compute), never per row in Python.
#include <nanobind/operators.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "arrow_interop.h"
#include "bindings.h"
#include "sabot/expr/expression.h"

namespace sabot::python {
namespace {

// An operand of an operator: an expression, or a Python literal (bool before int:
// Python's bool is an int).
Expr ToExpr(nb::handle value) {
  if (nb::isinstance<Expr>(value)) return nb::cast<Expr>(value);
  if (nb::isinstance<nb::bool_>(value)) return lit(nb::cast<bool>(value));
  if (nb::isinstance<nb::int_>(value)) return lit(nb::cast<int64_t>(value));
  if (nb::isinstance<nb::float_>(value)) return lit(nb::cast<double>(value));
  if (nb::isinstance<nb::str>(value)) return lit(nb::cast<std::string>(value));
  throw nb::type_error(
      ("cannot use a value of type " + std::string(nb::type_name(value.type()).c_str()) +
       " in an expression; expected sb.col(...), bool, int, float or str")
          .c_str());
}

}  // namespace

void InitializeExpressions(nb::module_& module) {
  nb::class_<Expr> expr(
      module, "Expr",
      "An expression over the columns of a stream, evaluated by the engine "
      "on whole Arrow batches.");
  expr.def("alias", &Expr::As, nb::arg("name"),
           "Returns a copy named `name` in a projection.")
      .def_prop_ro("name", &Expr::OutputName)
      .def("__repr__", [](const Expr& e) { return "<sabot.Expr " + e.ToString() + ">"; })
      .def("__str__", &Expr::ToString)
      .def("__bool__",
           [](const Expr&) -> bool {
             throw nb::type_error(
                 "an expression has no truth value: combine conditions with & and |, "
                 "negate with ~ (not 'and', 'or', 'not')");
           })
      .def("__add__", [](const Expr& a, nb::handle b) { return a + ToExpr(b); })
      .def("__radd__", [](const Expr& a, nb::handle b) { return ToExpr(b) + a; })
      .def("__sub__", [](const Expr& a, nb::handle b) { return a - ToExpr(b); })
      .def("__rsub__", [](const Expr& a, nb::handle b) { return ToExpr(b) - a; })
      .def("__mul__", [](const Expr& a, nb::handle b) { return a * ToExpr(b); })
      .def("__rmul__", [](const Expr& a, nb::handle b) { return ToExpr(b) * a; })
      .def("__truediv__", [](const Expr& a, nb::handle b) { return a / ToExpr(b); })
      .def("__rtruediv__", [](const Expr& a, nb::handle b) { return ToExpr(b) / a; })
      .def("__neg__", [](const Expr& a) { return lit(int64_t{0}) - a; })
      .def("__eq__", [](const Expr& a, nb::handle b) { return a == ToExpr(b); })
      .def("__ne__", [](const Expr& a, nb::handle b) { return a != ToExpr(b); })
      .def("__lt__", [](const Expr& a, nb::handle b) { return a < ToExpr(b); })
      .def("__le__", [](const Expr& a, nb::handle b) { return a <= ToExpr(b); })
      .def("__gt__", [](const Expr& a, nb::handle b) { return a > ToExpr(b); })
      .def("__ge__", [](const Expr& a, nb::handle b) { return a >= ToExpr(b); })
      .def("__and__", [](const Expr& a, nb::handle b) { return a && ToExpr(b); })
      .def("__rand__", [](const Expr& a, nb::handle b) { return ToExpr(b) && a; })
      .def("__or__", [](const Expr& a, nb::handle b) { return a || ToExpr(b); })
      .def("__ror__", [](const Expr& a, nb::handle b) { return ToExpr(b) || a; })
      .def("__invert__", [](const Expr& a) { return !a; })
      .def("is_null", [](const Expr& a) { return IsNull(a); })
      .def("is_valid", [](const Expr& a) { return IsValid(a); })
      .def(
          "cast",
          [](const Expr& a, nb::handle type) {
            return Cast(a, ValueOrThrow(ImportType(type)));
          },
          nb::arg("type"))
      .def("lower", [](const Expr& a) { return Lower(a); })
      .def("upper", [](const Expr& a) { return Upper(a); })
      .def("length", [](const Expr& a) { return Length(a); })
      .def("contains",
           [](const Expr& a, std::string s) { return Contains(a, std::move(s)); })
      .def("startswith",
           [](const Expr& a, std::string s) { return StartsWith(a, std::move(s)); })
      .def("endswith",
           [](const Expr& a, std::string s) { return EndsWith(a, std::move(s)); })
      .def("abs", [](const Expr& a) { return Abs(a); })
      .def(
          "round", [](const Expr& a, int64_t digits) { return Round(a, digits); },
          nb::arg("digits") = 0);
  // __eq__ makes expressions unhashable, as in pandas and polars.
  expr.attr("__hash__") = nb::none();

  module.def("col", &col, nb::arg("name"), "A reference to the column `name`.");
  module.def("lit", &ToExpr, nb::arg("value"), "A literal: bool, int, float or str.");
  module.def(
      "call",
      [](std::string function, nb::args arguments) {
        std::vector<Expr> operands;
        for (nb::handle argument : arguments) operands.push_back(ToExpr(argument));
        return Call(std::move(function), std::move(operands));
      },
      nb::arg("function"), nb::arg("arguments"),
      "Calls an Arrow compute function by name.");
}

}  // namespace sabot::python
