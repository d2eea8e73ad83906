#pragma once
// An exponential moving average of a model's weights (train.ema), as in
// ultralytics' ModelEMA / timm's ModelEmaV2: after every optimizer step
//
//   d_t = decay * (1 - exp(-t / tau))        t = number of updates so far (1-based)
//   ema = d_t * ema + (1 - d_t) * weights
//
// The warm-up makes early averages follow the fast-moving weights instead of the
// random initialisation. Every floating-point tensor of the state dict is
// averaged: parameters AND floating buffers (e.g. BatchNorm running statistics);
// integer buffers (num_batches_tracked) are copied. The average lives in float32
// on the model's device, under the model's official names, so the checkpoint's
// "ema" entry loads into the official Python model like "model" does.
//
// Evaluation uses it by swapping the averaged tensors into the model and back
// (EmaSwap), so no second model is built.
#include <torch/torch.h>

#include <string>

#include "core/checkpoint.h"
#include "train/options.h"

namespace seer {

class ModelEma {
 public:
  // Starts as a copy of `model`'s current weights (updates = 0).
  ModelEma(const torch::nn::Module& model, EmaOptions options);

  // One step of the average towards `model`'s current weights.
  void update(const torch::nn::Module& model);
  // The decay the next update() will use.
  double next_decay() const;
  int64_t updates() const { return updates_; }
  // name -> averaged tensor (aliases the EMA's storage).
  const StateDict& tensors() const { return ema_; }

  // Exchanges the model's tensors with the averaged ones (in place; a second
  // call swaps back).
  void swap_into(torch::nn::Module& model);

  // name -> tensor on the CPU (the checkpoint's "ema" entry).
  c10::impl::GenericDict state_dict() const;
  // Copies a checkpoint's "ema" dict back (every name and shape must match: a
  // RuntimeError naming the first mismatch otherwise) and sets the update count.
  void load_state_dict(const c10::IValue& ema, int64_t updates, const std::string& source);

 private:
  EmaOptions options_;
  StateDict ema_;
  int64_t updates_ = 0;
};

// Scoped EMA evaluation: the model holds the averaged weights until the end of
// the scope (also on an exception). Does nothing when `ema` is null.
class EmaSwap {
 public:
  EmaSwap(ModelEma* ema, torch::nn::Module& model);
  ~EmaSwap();
  EmaSwap(const EmaSwap&) = delete;
  EmaSwap& operator=(const EmaSwap&) = delete;

 private:
  ModelEma* ema_;
  torch::nn::Module& model_;
};

}  // namespace seer
