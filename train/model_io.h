#pragma once
// Loading weights into a model: the one path shared by `seer train`
// (model.weights, fine-tuning), eval, predict and export, so every command
// reports a load the same way.
#include <memory>
#include <string>

#include "core/checkpoint.h"
#include "models/model.h"

namespace seer {

// Load a weights file (seer checkpoint, official .pth/.pt, .safetensors) into the
// model, honouring model.strict_load, and log the load report. From a checkpoint
// holding an "ema" dict of tensors (train.ema) the averaged weights are loaded,
// else "model" / "state_dict" / ... (core/checkpoint.h read_weights). A checkpoint that
// names another model family is refused (RuntimeError) before any tensor is copied;
// so is an official checkpoint (no family written) whose tensor names are
// another family's (guess_family). Model::ignored_weight_keys() are dropped.
LoadReport load_model_weights(Model& model, const std::string& path, bool strict);

// The family whose official checkpoints have these tensor names ("" = unknown).
std::string guess_family(const StateDict& tensors);
// The same for a file already read (read_weights(path, "ema")).
LoadReport load_model_weights(Model& model, const WeightsFile& file, const std::string& path, bool strict);

// The model's state_dict without its training-only tensors
// (Model::training_only_prefixes): what `seer export` writes as safetensors / .pth.
// `dropped` (optional) receives how many tensors were left out.
StateDict inference_state_dict(const Model& model, int64_t* dropped = nullptr);

}  // namespace seer
