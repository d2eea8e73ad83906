#include "train/resolve.h"

#include "core/error.h"

namespace seer {

ResolvedConfig resolve_config(const std::string& path, const std::vector<std::string>& overrides) {
  Config cfg = Config::load(path, overrides);
  ConfigSection root = cfg.root();
  ResolvedConfig r{cfg, {}, {}, {}, {}, ""};
  r.runtime = read_runtime_options(root.sub("runtime"));
  r.schedule = read_schedule_options(root.sub("schedule"));
  r.predict = read_predict_options(root.sub("predict"));
  r.data = read_data_spec(root.sub("data"), r.runtime.seed);
  if (root.has("model")) {
    // Model families arrive with their issues; until then any model section is
    // reported as unavailable rather than silently accepted.
    r.model_type = root.sub("model").require<std::string>("type", "model family, e.g. detr");
    root.sub("model").fail("type", "model family '" + r.model_type + "' is not available in this build");
  }
  cfg.check_unknown_keys();
  return r;
}

}  // namespace seer
