#pragma once
// Load a config and have every component read (and so declare) its keys, then
// reject unknown keys. What commands run on is this resolved view. It sits
// above every library (it reads every section), so it lives with the commands
// (target seer_cli).
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/data_config.h"
#include "eval/evaluators.h"
#include "models/model.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "train/options.h"
#include "train/trainer.h"

namespace seer {

struct ResolvedConfig {
  Config config;
  RuntimeOptions runtime;
  ScheduleOptions schedule;
  PredictOptions predict;
  DataSpec data;
  std::string model_type;  // "" when the config has no model section
  std::optional<ModelSpec> model;  // set when the config has a model section
  OptimizerOptions optimizer;
  LrScheduleOptions lr_schedule;
  TrainOptions train;
  eval::EvaluatorSpec evaluation;
};

// Throws ConfigError (exit 2) on any unknown, misspelt or ill-typed key.
ResolvedConfig resolve_config(const std::string& path, const std::vector<std::string>& overrides);
// The same from YAML text (e.g. the resolved config stored in a checkpoint);
// `origin` names it in errors.
ResolvedConfig resolve_config_text(const std::string& yaml, const std::string& origin,
                                   const std::vector<std::string>& overrides);

// The trainer's settings of a resolved config.
TrainerOptions trainer_options(const ResolvedConfig& resolved);

// The class table the model is built for: the validation split's dataset (else
// the training split's). ConfigError when the config has neither.
CategoryTable config_categories(const ResolvedConfig& r);

// Build the config's model (ConfigError when the config has no model section).
std::shared_ptr<Model> build_model(const ResolvedConfig& r, const CategoryTable& categories);

}  // namespace seer
