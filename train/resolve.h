#pragma once
// Load a config and have every component read (and so declare) its keys, then
// reject unknown keys. What commands run on is this resolved view.
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/data_config.h"
#include "models/model.h"
#include "train/evaluation.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "train/options.h"

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
  EvaluationOptions evaluation;
};

// Throws ConfigError (exit 2) on any unknown, misspelt or ill-typed key.
ResolvedConfig resolve_config(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace seer
