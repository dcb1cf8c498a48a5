// Shared declarations of the nanobind extension sabot._sabot: one Initialize function per
// area, and the conversion of engine errors into Python exceptions.
#pragma once

#include <nanobind/nanobind.h>

#include <utility>

#include "sabot/common/status.h"

namespace sabot::python {

namespace nb = nanobind;

void InitializeArrow(nb::module_& module);
void InitializeExpressions(nb::module_& module);
void InitializeStreams(nb::module_& module);
void InitializeTopics(nb::module_& module);
void InitializeKafka(nb::module_& module);
void InitializeState(nb::module_& module);
void InitializeTime(nb::module_& module);
void InitializeCodecs(nb::module_& module);

/// Raises the Python exception that matches `status`: Invalid and TypeError become
/// ValueError and TypeError, KeyError KeyError, IOError OSError, NotImplemented
/// NotImplementedError, others RuntimeError. The message is the status message.
[[noreturn]] void RaiseStatus(const Status& status);

inline void ThrowIfError(const Status& status) {
  if (!status.ok()) RaiseStatus(status);
}

template <typename T>
T ValueOrThrow(Result<T> result) {
  if (!result.ok()) RaiseStatus(result.status());
  return std::move(result).ValueUnsafe();
}

}  // namespace sabot::python
