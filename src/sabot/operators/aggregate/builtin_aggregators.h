// The built-in aggregate functions as GroupedAggregators over their consumed types
// (int64, double, utf8). Internal to operators/.
#pragma once

#include <memory>

#include "sabot/common/status.h"
#include "sabot/operators/aggregate/aggregate_spec.h"
#include "sabot/operators/aggregate/grouped_aggregator.h"

namespace sabot {

/// Returns the aggregator of `aggregate` (user-defined ones through their factory).
Result<std::unique_ptr<GroupedAggregator>> MakeAggregator(
    const ResolvedAggregate& aggregate);

}  // namespace sabot
