#pragma once
// The model interface (DESIGN.md §3). The trainer only ever calls loss() and
// predict(); export traces forward_tensors(), the plain tensor-in / tensor-out
// forward that loss() and predict() both run, so what is exported is what was
// trained and evaluated.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/types.h"

namespace seer {

class Model : public torch::nn::Module {
 public:
  // Training: the weighted loss terms (summed by the trainer) plus, under names
  // starting with "log/", unweighted quantities to log only (class_error, ...)
  // that the trainer does NOT add to the total.
  virtual LossDict loss(const Batch& batch) = 0;
  // Inference: one Prediction per image, in ORIGINAL image pixels, labels as
  // contiguous class indices of the dataset's CategoryTable. No score threshold
  // here (evaluation sees everything); callers filter.
  virtual std::vector<Prediction> predict(const Batch& batch) = 0;

  // The exported forward: the tensors named by export_input_names() in, those
  // named by export_output_names() out. For DETR: (images [B,3,H,W], mask [B,H,W]
  // bool, true = padding) -> (pred_logits [B,Q,C+1], pred_boxes [B,Q,4]).
  virtual std::vector<torch::Tensor> forward_tensors(const std::vector<torch::Tensor>& inputs) = 0;
  virtual std::vector<std::string> export_input_names() const = 0;
  virtual std::vector<std::string> export_output_names() const = 0;
  // Example inputs for tracing at a given image size (batch 1).
  virtual std::vector<torch::Tensor> example_inputs(int64_t height, int64_t width) const = 0;

  // The family name of the config (`model.type`), written into checkpoints so a
  // checkpoint of another family is refused with a clear message.
  virtual std::string family() const = 0;

  // State-dict prefixes of parameters used only by the training loss (auxiliary
  // heads, extra query groups): `seer export` leaves them out of safetensors and
  // .pth files, so a model trained with them loads into the official code.
  virtual std::vector<std::string> training_only_prefixes() const { return {}; }

  // Exact state-dict keys of official checkpoints that loading drops (buffers
  // or heads the official loader itself ignores), e.g. Grounding DINO's
  // bert.embeddings.position_ids and label_enc.weight.
  virtual std::vector<std::string> ignored_weight_keys() const { return {}; }

  // Whether predict() reads a text prompt from Target::caption (`seer predict --text`).
  virtual bool accepts_text() const { return false; }
  // Refuses a prompt the model cannot use (empty, nothing to ground, over a
  // budget it cannot split) with a one-line UsageError, before any image is read.
  virtual void check_prompt(const std::string& text) const { (void)text; }
  // Text models: bake a prompt into forward_tensors() and export_input_names()
  // (closed-vocabulary export); "" restores the open form. Others refuse.
  virtual void set_export_prompt(const std::string& text);
};

// What reading the `model:` and `loss:` sections gives: their keys are declared
// and validated at once (no weights are read); build() constructs the model for a
// dataset's category table.
struct ModelSpec {
  std::string type;          // model.type
  bool strict_load = true;   // model.strict_load
  std::string weights;       // model.weights: initial weights ("" = none; --weights overrides)
  bool accepts_text = false;  // what the built model's accepts_text() says, known before building it
  std::function<std::shared_ptr<Model>(const CategoryTable&)> build;
};

// Reads model.type, model.strict_load and model.weights itself, then dispatches
// on model.type through the table of families in build.cpp.
// Throws ConfigError naming the key for an unknown family (with the list of known ones).
ModelSpec read_model_spec(const ConfigSection& root);

// The names of every family in the table, for messages.
std::vector<std::string> model_families();

}  // namespace seer
