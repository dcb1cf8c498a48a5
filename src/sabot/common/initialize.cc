#include "sabot/common/initialize.h"

#include <arrow/compute/initialize.h>

namespace sabot {

Status Initialize() {
  static const Status status = arrow::compute::Initialize();
  return status;
}

}  // namespace sabot
