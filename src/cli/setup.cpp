#include "cli/setup.h"

#include <filesystem>
#include <unordered_set>

#include "core/error.h"
#include "core/logging.h"
#include "data/categories.h"

namespace seer::cli {

void apply_runtime(const RuntimeOptions& runtime) {
  set_log_level(runtime.log_level);
  if (runtime.threads > 0) torch::set_num_threads(runtime.threads);
  if (runtime.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
}

int64_t count_parameters(const torch::nn::Module& module, bool trainable) {
  int64_t n = 0;
  std::unordered_set<const void*> seen;  // a shared module counts once
  for (const auto& p : module.parameters())
    if ((!trainable || p.requires_grad()) && seen.insert(p.unsafeGetTensorImpl()).second) n += p.numel();
  return n;
}

const WeightsFile& InferenceSetup::weights() const {
  if (loaded->format.empty()) {  // not read yet
    if (!std::filesystem::exists(weights_path)) throw UsageError("--weights: no such file '" + weights_path + "'");
    *loaded = read_weights(weights_path, "ema");
  }
  return *loaded;
}

InferenceSetup read_inference_setup(const Args& args) {
  const std::string path = args.get("--weights");
  const auto overrides = args.all("--set");
  if (args.positional_count() > 0)
    return InferenceSetup{resolve_config(args.positional(0), overrides), path, std::make_shared<WeightsFile>()};
  if (!std::filesystem::exists(path)) throw UsageError("--weights: no such file '" + path + "'");
  auto weights = std::make_shared<WeightsFile>(read_weights(path, "ema"));
  if (weights->config_yaml.empty())
    throw UsageError("CONFIG is needed: '" + path + "' carries no seer config (give the YAML config first)");
  log().info("config: the one stored in {}", path);
  ResolvedConfig config = resolve_config_text(weights->config_yaml, path + " (stored config)", overrides);
  return InferenceSetup{std::move(config), path, std::move(weights)};
}

CategoryTable inference_categories(const InferenceSetup& s) {
  const WeightsFile& w = s.weights();
  if (w.categories && w.categories->size() > 0) return *w.categories;
  const auto& r = s.config;
  if (!r.data.categories.empty()) return named_categories(r.data.categories, r.data.root);
  const auto& split = r.data.val ? r.data.val : r.data.train;
  if (!split)
    throw ConfigError(r.config.file() + ": no class table: the weights carry none, data.categories is not set and "
                      "there is no data.val or data.train dataset");
  return split->build_dataset()->categories();
}
}  // namespace seer::cli
