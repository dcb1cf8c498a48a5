// What the test jobs (crash/crash_job.cc, kafka/kafka_eos_job.cc) share: their
// "--name value" flags, bound to variables so that each job lists its flags once, and
// the JSON line that tells the test scripts how the run went.

#pragma once

#include <sabot/sabot.h>

#include <arrow/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace sabot::testing {

class JobFlags {
 public:
  void Add(const std::string& name, std::string* target);
  void Add(const std::string& name, int64_t* target);
  void Add(const std::string& name, int* target);
  void Add(const std::string& name, double* target);

  /// Sets the bound variables from argv; an unknown flag, a flag without a value or a
  /// value that is not a number where one is wanted is an Invalid status naming it.
  arrow::Status Parse(int argc, char** argv) const;

 private:
  // Sets the variable of a flag from its value; false when the value does not parse.
  std::map<std::string, std::function<bool(const std::string&)>> setters_;
};

/// Waits for `job` and prints {"restored_checkpoint": N, "checkpoints_completed": M}.
arrow::Status WaitAndReport(Job& job);

}  // namespace sabot::testing
