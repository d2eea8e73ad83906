#include "train/evaluation.h"

#include <cstdio>
#include <cstdlib>

#include "core/distributed.h"
#include "core/error.h"
#include "core/logging.h"
#include "data/collate.h"
#include "train/eval_gather.h"

namespace seer {

namespace {

// Rank 0 scores the gathered items; every rank returns its metrics.
eval::Metrics compute_on_main(eval::Evaluator& evaluator, const EvalItems& all) {
  std::string text;
  if (dist::is_main()) {
    evaluator.update(all.predictions, all.targets);
    char value[40];
    for (const auto& [name, v] : evaluator.compute()) {
      std::snprintf(value, sizeof value, "%.17g", v);
      text += name + "\t" + value + "\n";
    }
  }
  text = dist::broadcast_bytes(text, 0);
  eval::Metrics metrics;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t tab = text.find('\t', pos), end = text.find('\n', tab);
    metrics.emplace_back(text.substr(pos, tab - pos), std::strtod(text.substr(tab + 1, end - tab - 1).c_str(), nullptr));
    pos = end + 1;
  }
  return metrics;
}

}  // namespace

eval::Metrics run_evaluation(Model& model, Loader& loader, eval::Evaluator& evaluator, const torch::Device& device,
                             const EvalBatchHook& on_batch, const std::string& label) {
  const bool was_training = model.is_training();
  model.eval();
  evaluator.reset();
  torch::NoGradGuard no_grad;
  loader.start_epoch(0);
  Progress progress(label, loader.batches_per_epoch());
  int64_t done = 0;
  const bool distributed = dist::distributed();
  EvalItems mine;
  try {
    while (auto batch = loader.next()) {
      std::vector<Prediction> preds = model.predict(batch_to_device(*batch, device));
      if (static_cast<int64_t>(preds.size()) != batch->size())
        throw RuntimeError("model predict() returned " + std::to_string(preds.size()) + " predictions for a batch of " +
                           std::to_string(batch->size()) + " images");
      for (auto& p : preds) {
        if (p.boxes.defined()) p.boxes = p.boxes.cpu();
        if (p.scores.defined()) p.scores = p.scores.cpu();
        if (p.labels.defined()) p.labels = p.labels.cpu();
        if (p.masks.defined()) p.masks = p.masks.cpu();
      }
      for (size_t i = 0; i < preds.size(); ++i)
        if (preds[i].image_id < 0) preds[i].image_id = batch->targets[i].image_id;
      if (on_batch) on_batch(*batch, preds);
      if (distributed) {  // scored on rank 0 after the gather
        mine.predictions.insert(mine.predictions.end(), preds.begin(), preds.end());
        mine.targets.insert(mine.targets.end(), batch->targets.begin(), batch->targets.end());
      } else {
        evaluator.update(preds, batch->targets);
      }
      progress.update(++done);
    }
  } catch (...) {
    model.train(was_training);
    throw;
  }
  progress.finish();
  model.train(was_training);
  if (!distributed) return evaluator.compute();
  return compute_on_main(evaluator, gather_eval_items(std::move(mine)));
}

}  // namespace seer
