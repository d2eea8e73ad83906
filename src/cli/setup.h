#pragma once
// Small pieces the config-driven commands share.
#include <array>

#include "data/transforms.h"
#include "train/options.h"

namespace seer::cli {

// Intra-op threads, log level and deterministic algorithms from runtime.*.
void apply_runtime(const RuntimeOptions& runtime);
// Number of parameters (only those that train when `trainable`).
int64_t count_parameters(const torch::nn::Module& module, bool trainable);

}  // namespace seer::cli
