#include "job_flags.h"

#include <cstdio>
#include <cstdlib>

namespace sabot::testing {
namespace {

// The whole of `value` as a number; false when anything is left over.
template <typename T, typename Convert>
std::function<bool(const std::string&)> NumberSetter(T* target, Convert convert) {
  return [target, convert](const std::string& value) {
    char* end = nullptr;
    const auto number = convert(value.c_str(), &end);
    if (value.empty() || *end != '\0') return false;
    *target = static_cast<T>(number);
    return true;
  };
}

}  // namespace

void JobFlags::Add(const std::string& name, std::string* target) {
  setters_[name] = [target](const std::string& value) {
    *target = value;
    return true;
  };
}

void JobFlags::Add(const std::string& name, int64_t* target) {
  setters_[name] = NumberSetter(
      target, [](const char* text, char** end) { return std::strtoll(text, end, 10); });
}

void JobFlags::Add(const std::string& name, int* target) {
  setters_[name] = NumberSetter(
      target, [](const char* text, char** end) { return std::strtol(text, end, 10); });
}

void JobFlags::Add(const std::string& name, double* target) {
  setters_[name] = NumberSetter(
      target, [](const char* text, char** end) { return std::strtod(text, end); });
}

arrow::Status JobFlags::Parse(int argc, char** argv) const {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    auto setter = setters_.find(flag);
    if (setter == setters_.end()) return arrow::Status::Invalid("unknown flag ", flag);
    if (i + 1 >= argc) return arrow::Status::Invalid("missing value of ", flag);
    if (!setter->second(argv[i + 1])) {
      return arrow::Status::Invalid("bad number for ", flag, ": ", argv[i + 1]);
    }
  }
  return arrow::Status::OK();
}

arrow::Status WaitAndReport(Job& job) {
  ARROW_RETURN_NOT_OK(job.Wait());
  std::printf("{\"restored_checkpoint\": %lld, \"checkpoints_completed\": %lld}\n",
              static_cast<long long>(job.restored_checkpoint()),
              static_cast<long long>(job.checkpoints()->num_completed()));
  return arrow::Status::OK();
}

}  // namespace sabot::testing
