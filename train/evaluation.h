#pragma once
// The evaluation loop shared by the trainer (after epochs) and `seer eval`:
// model->predict over a loader, fed to an Evaluator (the `evaluation:` section
// picks one from the table of eval/evaluators.h).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/types.h"
#include "data/loader.h"
#include "eval/evaluators.h"
#include "models/model.h"

namespace seer {

// Called for each batch with the model's predictions (e.g. to draw a few images).
using EvalBatchHook = std::function<void(const Batch& batch, const std::vector<Prediction>& predictions)>;

// Runs model.predict over one pass of `loader` (epoch 0 of its plan) under
// NoGradGuard with the model in eval mode (its previous mode is restored), moving
// images to `device`; feeds `evaluator` (reset first) and returns its metrics.
// Shows a progress bar labelled `label`. In a distributed run every rank calls
// it with its share of the val set (its loader's rank split): rank 0 gathers the
// predictions, scores them all, and every rank returns those metrics.
eval::Metrics run_evaluation(Model& model, Loader& loader, eval::Evaluator& evaluator,
                             const torch::Device& device = torch::kCPU, const EvalBatchHook& on_batch = {},
                             const std::string& label = "eval");

}  // namespace seer
