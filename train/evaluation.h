#pragma once
// The `evaluation:` section and the evaluation loop shared by the trainer (after
// epochs) and `seer eval`: model->predict over a loader, fed to an Evaluator.
//
//   evaluation:
//     type: coco_bbox   # coco_bbox | coco_segm
//     gt_json: null     # optional COCO json for exact numbers; else GT from the targets
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/types.h"
#include "data/loader.h"
#include "eval/evaluator.h"
#include "models/model.h"

namespace seer {

struct EvaluationOptions {
  std::string type = "coco_bbox";
  std::string gt_json;  // "" = ground truth built from the targets
};
// A relative gt_json is relative to data.root, like dataset paths.
EvaluationOptions read_evaluation_options(const ConfigSection& evaluation, const std::string& data_root);

// The evaluator the options name, over the dataset's category table.
std::unique_ptr<eval::Evaluator> make_evaluator(const EvaluationOptions& options, const CategoryTable& categories);

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

// The batch with images, pad mask and target boxes/labels moved to `device`.
Batch batch_to_device(const Batch& batch, const torch::Device& device);

}  // namespace seer
