#include "cli/resolve.h"

#include "core/error.h"
#include "data/transform_ops.h"

namespace seer {

namespace {

ResolvedConfig resolve(Config cfg) {
  ConfigSection root = cfg.root();
  ResolvedConfig r{cfg, {}, {}, {}, {}, "", std::nullopt, {}, {}, {}, {}};
  r.runtime = read_runtime_options(root.sub("runtime"));
  r.schedule = read_schedule_options(root.sub("schedule"));
  r.predict = read_predict_options(root.sub("predict"));
  r.data = read_data_spec(root.sub("data"), r.runtime.seed);
  r.optimizer = read_optimizer_options(root.sub("optimizer"));
  r.lr_schedule = read_lr_schedule_options(root.sub("lr_schedule"));
  r.train = read_train_options(root.sub("train"));
  r.evaluation = eval::read_evaluator_spec(root.sub("evaluation"), r.data.root);
  // train.best_metric names a metric of the chosen evaluator.
  auto& best = r.train.best_metric;
  if (best == "auto") {
    best = r.evaluation.default_best_metric;
  } else if (!best.empty() && !r.evaluation.reports(best)) {
    const std::string near = nearest(best, r.evaluation.metric_names);
    throw ConfigError(cfg.file() + ": train.best_metric: '" + best + "' is not a metric of evaluator '" +
                      r.evaluation.type + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
  }
  if (root.has("model")) {
    r.model = read_model_spec(root);
    r.model_type = r.model->type;
  }
  cfg.check_unknown_keys();
  return r;
}

}  // namespace

ResolvedConfig resolve_config(const std::string& path, const std::vector<std::string>& overrides) {
  return resolve(Config::load(path, overrides));
}

ResolvedConfig resolve_config_text(const std::string& yaml, const std::string& origin,
                                   const std::vector<std::string>& overrides) {
  return resolve(Config::from_string(yaml, origin, overrides));
}

TrainerOptions trainer_options(const ResolvedConfig& r) {
  TrainerOptions o;
  o.runtime = r.runtime;
  o.schedule = r.schedule;
  o.predict = r.predict;
  o.optimizer = r.optimizer;
  o.lr_schedule = r.lr_schedule;
  o.train = r.train;
  o.evaluation = r.evaluation;
  o.config_yaml = r.config.to_yaml();
  const auto& split = r.data.val ? r.data.val : r.data.train;
  if (split) o.normalisation = image_normalisation(split->transforms);
  return o;
}

CategoryTable config_categories(const ResolvedConfig& r) {
  const auto& split = r.data.val ? r.data.val : r.data.train;
  if (!split) throw ConfigError(r.config.file() + ": the config has no data.val or data.train section to take class names from");
  return split->build_dataset()->categories();
}

std::shared_ptr<Model> build_model(const ResolvedConfig& r, const CategoryTable& categories) {
  if (!r.model) throw ConfigError(r.config.file() + ": the config has no model section");
  auto model = r.model->build(categories);
  if (model->accepts_text() != r.model->accepts_text)
    throw RuntimeError("model family '" + r.model->type + "': its spec and its model disagree on taking text");
  return model;
}

}  // namespace seer
