#pragma once
// The evaluator interface (DESIGN.md §7): predictions and targets arrive batch by
// batch through update(); compute() turns everything seen since reset() into named
// metrics. Evaluators know nothing about models; they read Prediction (original
// image pixels) and Target (the data contract of src/core/types.h).
#include <string>
#include <utility>
#include <vector>

#include "core/types.h"

namespace seer::eval {

// Named metrics in a stable, meaningful order (e.g. "bbox/AP", "bbox/AP50", ...).
using Metrics = std::vector<std::pair<std::string, double>>;

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Forget everything seen so far.
  virtual void reset() = 0;
  // One batch: predictions[i] belongs to targets[i].
  virtual void update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) = 0;
  // The metrics over every update() since reset().
  virtual Metrics compute() = 0;
  // A human-readable report of the last compute() (e.g. COCO's 12-line
  // summary), "" when the metrics say it all.
  virtual std::string summary() const { return ""; }
};

}  // namespace seer::eval
