#include "cli/setup.h"

#include "core/logging.h"

namespace seer::cli {

void apply_runtime(const RuntimeOptions& runtime) {
  set_log_level(runtime.log_level);
  if (runtime.threads > 0) torch::set_num_threads(runtime.threads);
  if (runtime.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
}

int64_t count_parameters(const torch::nn::Module& module, bool trainable) {
  int64_t n = 0;
  for (const auto& p : module.parameters())
    if (!trainable || p.requires_grad()) n += p.numel();
  return n;
}

}  // namespace seer::cli
