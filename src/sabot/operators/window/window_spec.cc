#include "sabot/operators/window/window_spec.h"

#include <sstream>

namespace sabot {

Trigger CountTrigger(int64_t count) {
  Trigger trigger;
  trigger.kind = TriggerKind::kCount;
  trigger.count = count;
  return trigger;
}

Trigger EventTimeTrigger(std::chrono::milliseconds interval) {
  Trigger trigger;
  trigger.kind = TriggerKind::kEventTime;
  trigger.interval_ms = interval.count();
  return trigger;
}

Trigger ProcessingTimeTrigger(std::chrono::milliseconds interval) {
  Trigger trigger;
  trigger.kind = TriggerKind::kProcessingTime;
  trigger.interval_ms = interval.count();
  return trigger;
}

WindowSpec Tumbling(std::chrono::milliseconds size, std::chrono::milliseconds offset) {
  WindowSpec spec;
  spec.kind = WindowKind::kTumbling;
  spec.size_ms = spec.slide_ms = size.count();
  spec.offset_ms = offset.count();
  return spec;
}

WindowSpec Sliding(std::chrono::milliseconds size, std::chrono::milliseconds slide,
                   std::chrono::milliseconds offset) {
  WindowSpec spec;
  spec.kind = WindowKind::kSliding;
  spec.size_ms = size.count();
  spec.slide_ms = slide.count();
  spec.offset_ms = offset.count();
  return spec;
}

WindowSpec Session(std::chrono::milliseconds gap) {
  WindowSpec spec;
  spec.kind = WindowKind::kSession;
  spec.gap_ms = gap.count();
  return spec;
}

WindowSpec CountWindow(int64_t size, int64_t slide) {
  WindowSpec spec;
  spec.kind = WindowKind::kCount;
  spec.count = size;
  spec.count_slide = slide;
  return spec;
}

WindowSpec GlobalWindow(Trigger trigger) {
  WindowSpec spec;
  spec.kind = WindowKind::kGlobal;
  spec.trigger = trigger;
  return spec;
}

Status WindowSpec::Validate() const {
  switch (kind) {
    case WindowKind::kTumbling:
    case WindowKind::kSliding:
      if (size_ms <= 0 || slide_ms <= 0) {
        return Status::Invalid("window size and slide must be positive, got size ",
                               size_ms, " ms and slide ", slide_ms, " ms");
      }
      if (slide_ms > size_ms) {
        return Status::Invalid("slide (", slide_ms, " ms) larger than size (", size_ms,
                               " ms) would skip rows; use a slide <= size");
      }
      if (offset_ms < 0 || offset_ms >= slide_ms) {
        return Status::Invalid("window offset must be in [0, slide), got ", offset_ms,
                               " ms");
      }
      return Status::OK();
    case WindowKind::kSession:
      if (gap_ms <= 0)
        return Status::Invalid("session gap must be positive, got ", gap_ms, " ms");
      return Status::OK();
    case WindowKind::kCount:
      if (count <= 0 || count_slide < 0 || count_slide > count) {
        return Status::Invalid("count window needs 0 < size and 0 <= slide <= size, got ",
                               "size ", count, " and slide ", count_slide);
      }
      return Status::OK();
    case WindowKind::kGlobal:
      switch (trigger.kind) {
        case TriggerKind::kNever:
          return Status::Invalid(
              "a global window needs a trigger: CountTrigger, EventTimeTrigger or "
              "ProcessingTimeTrigger");
        case TriggerKind::kCount:
          if (trigger.count <= 0)
            return Status::Invalid("CountTrigger needs a positive count");
          return Status::OK();
        default:
          if (trigger.interval_ms <= 0)
            return Status::Invalid("trigger interval must be positive");
          return Status::OK();
      }
  }
  return Status::OK();
}

std::string WindowSpec::ToString() const {
  std::ostringstream out;
  switch (kind) {
    case WindowKind::kTumbling:
      out << "tumbling " << size_ms << " ms";
      break;
    case WindowKind::kSliding:
      out << "sliding " << size_ms << " ms every " << slide_ms << " ms";
      break;
    case WindowKind::kSession:
      out << "session gap " << gap_ms << " ms";
      break;
    case WindowKind::kCount:
      out << "count " << count;
      if (count_slide > 0) out << " every " << count_slide;
      break;
    case WindowKind::kGlobal:
      out << "global, trigger ";
      if (trigger.kind == TriggerKind::kCount)
        out << "every " << trigger.count << " rows";
      if (trigger.kind == TriggerKind::kEventTime)
        out << "every " << trigger.interval_ms << " ms event time";
      if (trigger.kind == TriggerKind::kProcessingTime)
        out << "every " << trigger.interval_ms << " ms processing time";
      if (trigger.purge) out << ", purging";
      break;
  }
  return out.str();
}

}  // namespace sabot
