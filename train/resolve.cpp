#include "train/resolve.h"

#include "core/error.h"

namespace seer {

ResolvedConfig resolve_config(const std::string& path, const std::vector<std::string>& overrides) {
  Config cfg = Config::load(path, overrides);
  ConfigSection root = cfg.root();
  ResolvedConfig r{cfg, {}, {}, {}, {}, "", std::nullopt, {}, {}, {}, {}};
  r.runtime = read_runtime_options(root.sub("runtime"));
  r.schedule = read_schedule_options(root.sub("schedule"));
  r.predict = read_predict_options(root.sub("predict"));
  r.data = read_data_spec(root.sub("data"), r.runtime.seed);
  r.optimizer = read_optimizer_options(root.sub("optimizer"));
  r.lr_schedule = read_lr_schedule_options(root.sub("lr_schedule"));
  r.train = read_train_options(root.sub("train"));
  r.evaluation = read_evaluation_options(root.sub("evaluation"), r.data.root);
  if (root.has("model")) {
    r.model = read_model_spec(root);
    r.model_type = r.model->type;
  }
  cfg.check_unknown_keys();
  return r;
}

}  // namespace seer
