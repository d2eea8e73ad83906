#pragma once
// Small pieces the config-driven commands share.
#include <array>
#include <string>

#include "cli/args.h"
#include "cli/resolve.h"
#include "core/checkpoint.h"
#include "data/transforms.h"
#include "train/options.h"

namespace seer::cli {

// Intra-op threads, log level and deterministic algorithms from runtime.*.
void apply_runtime(const RuntimeOptions& runtime);
// Number of parameters (only those that train when `trainable`).
int64_t count_parameters(const torch::nn::Module& module, bool trainable);

// What eval, predict and export run on: the resolved config and the weights
// file (read once, the EMA weights preferred as load_model_weights does).
struct InferenceSetup {
  ResolvedConfig config;
  std::string weights_path;
  // The weights file, read on first use (with a CONFIG given, only when needed).
  const WeightsFile& weights() const;

  std::shared_ptr<WeightsFile> loaded;  // shared so that copies read once
};
// `[CONFIG] --weights CKPT [--set k=v ...]`: the CONFIG file, else the resolved
// config stored in a seer checkpoint (as an ultralytics .pt carries its
// arguments), with --set applied either way. UsageError when there is neither.
InferenceSetup read_inference_setup(const Args& args);

// The class table to build the model for, first found of: the table the
// weights carry (seer checkpoints and exports), data.categories (coco or a
// names file), the val (else train) dataset. ConfigError when none is available.
CategoryTable inference_categories(const InferenceSetup& setup);

}  // namespace seer::cli
