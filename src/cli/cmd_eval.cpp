// seer eval: load weights into the config's model and evaluate it on the
// validation split with the config's evaluator.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/setup.h"
#include "core/error.h"
#include "core/logging.h"
#include "train/evaluation.h"
#include "train/model_io.h"
#include "cli/resolve.h"

namespace seer::cli {

int run_eval(const Args& args) {
  InferenceSetup setup = read_inference_setup(args);
  const ResolvedConfig& r = setup.config;
  if (!r.model) throw ConfigError(r.config.file() + ": the config has no model section");
  if (!r.data.val) throw ConfigError(r.config.file() + ": the config has no data.val section to evaluate on");
  apply_runtime(r.runtime);

  auto val_set = r.data.val->build_dataset();
  log().info("val: {}", val_set->describe());
  auto model = build_model(r, val_set->categories());
  load_model_weights(*model, setup.weights(), setup.weights_path, r.model->strict_load);
  const torch::Device device(r.runtime.device);
  model->to(device);

  Loader loader(val_set, r.data.val->transforms, r.data.val->loader);
  auto evaluator = r.evaluation.make(val_set->categories());
  eval::Metrics metrics = run_evaluation(*model, loader, *evaluator, device);

  std::cout << evaluator->summary();
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : metrics) {
    j[name] = value;
    if (name.find("/AP-") == std::string::npos) std::cout << name << " " << value << "\n";
  }
  if (args.has("--out")) {
    std::ofstream f(args.get("--out"));
    if (!(f << j.dump(1) << "\n")) throw RuntimeError("--out: cannot write '" + args.get("--out") + "'");
    log().info("metrics written to {}", args.get("--out"));
  }
  return 0;
}

}  // namespace seer::cli
