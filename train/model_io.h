#pragma once
// Building a model from a resolved config and loading weights into it: the one
// path shared by `seer train` (model.weights, fine-tuning), eval, predict and
// export, so every command reports a load the same way.
#include <memory>
#include <string>

#include "core/checkpoint.h"
#include "models/model.h"
#include "train/resolve.h"

namespace seer {

// The class table the model is built for: the validation split's dataset (else
// the training split's). ConfigError when the config has neither.
CategoryTable config_categories(const ResolvedConfig& r);

// Build the config's model (ConfigError when the config has no model section).
std::shared_ptr<Model> build_model(const ResolvedConfig& r, const CategoryTable& categories);

// Load a weights file (seer checkpoint, official .pth/.pt, .safetensors) into the
// model, honouring model.strict_load, and log the load report. From a checkpoint
// holding an "ema" dict of tensors (train.ema) the averaged weights are loaded,
// else "model" / "state_dict" / ... (core/checkpoint.h read_weights). A checkpoint that
// names another model family is refused (RuntimeError) before any tensor is copied.
LoadReport load_model_weights(Model& model, const std::string& path, bool strict);

// The model's state_dict without its training-only tensors
// (Model::training_only_prefixes): what `seer export` writes as safetensors / .pth.
// `dropped` (optional) receives how many tensors were left out.
StateDict inference_state_dict(const Model& model, int64_t* dropped = nullptr);

}  // namespace seer
