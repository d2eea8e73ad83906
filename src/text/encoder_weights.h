#pragma once
// Loading a text encoder's weights from a state dict (name -> tensor) that was
// read from an official checkpoint. Shared by BERT and the CLIP text tower.
//
// Official checkpoints name more than the encoder holds (pre-training heads, a
// whole CLIP's visual tower, buffers such as position_ids) and sometimes use a
// prefix or another naming. Each encoder has one normalising function that maps
// such a dict onto its own parameter names and says what it dropped; then
// load_encoder_weights() copies the tensors in, checking every name and shape.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace seer::text {

using StateDict = std::map<std::string, torch::Tensor>;

// The result of mapping an official state dict to our names.
struct NormalizedWeights {
  StateDict weights;                 // our names
  std::vector<std::string> ignored;  // official keys deliberately dropped (heads, buffers, other towers)
};

// What a load did. With strict loading any missing or unexpected key is an error;
// otherwise they are listed here.
struct LoadReport {
  std::vector<std::string> loaded;
  std::vector<std::string> missing;     // parameters of the module absent from the dict
  std::vector<std::string> unexpected;  // keys of the dict the module does not have
};

// Copy `weights` into the parameters of `module` (no grad). A tensor whose shape
// differs from the parameter's is always a RuntimeError naming the key and both
// shapes; missing / unexpected keys are a RuntimeError when `strict`.
// `who` names the model in messages ("bert", "clip_text").
LoadReport load_encoder_weights(torch::nn::Module& module, const StateDict& weights, bool strict,
                                const std::string& who);

// "[2, 3]" for messages.
std::string shape_str(const torch::Tensor& t);

// Options check: RuntimeError "<encoder>: <name> must be > 0, got <v>" unless v > 0.
void require_positive(const char* encoder, int64_t v, const char* name);

// A plain module registered under `name` on `parent`, only to give the
// parameters below it their nested official names (`attention.self`,
// `transformer.resblocks`, ...).
std::shared_ptr<torch::nn::Module> scope(torch::nn::Module& parent, const std::string& name);

torch::nn::LayerNorm layer_norm(int64_t dim, double eps);

}  // namespace seer::text
