// The one list of built-in operators and connectors. Adding an operator or connector
// means adding its Register call here (docs/adding_an_operator.md).
#include "sabot/connectors/collect_sink.h"
#include "sabot/connectors/file/file_options.h"
#include "sabot/connectors/generator_source.h"
#include "sabot/connectors/kafka/kafka_options.h"
#include "sabot/connectors/print_sink.h"
#include "sabot/connectors/table_source.h"
#include "sabot/operators/aggregate/running_aggregate.h"
#include "sabot/operators/process/keyed_process.h"
#include "sabot/operators/stateless.h"
#include "sabot/operators/window/window_aggregate.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/time/watermark_strategy.h"

namespace sabot {

Status RegisterBuiltins(OperatorRegistry* registry) {
  ARROW_RETURN_NOT_OK(RegisterStatelessOperators(registry));
  ARROW_RETURN_NOT_OK(RegisterWatermarkAssigner(registry));
  ARROW_RETURN_NOT_OK(RegisterWindowAggregate(registry));
  ARROW_RETURN_NOT_OK(RegisterRunningAggregate(registry));
  ARROW_RETURN_NOT_OK(RegisterKeyedProcess(registry));
  ARROW_RETURN_NOT_OK(RegisterGeneratorSource(registry));
  ARROW_RETURN_NOT_OK(RegisterTableSource(registry));
  ARROW_RETURN_NOT_OK(RegisterCollectSinks(registry));
  ARROW_RETURN_NOT_OK(RegisterPrintSink(registry));
  ARROW_RETURN_NOT_OK(RegisterFileConnectors(registry));
  ARROW_RETURN_NOT_OK(RegisterKafkaConnectors(registry));
  return Status::OK();
}

}  // namespace sabot
