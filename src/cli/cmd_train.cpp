// seer train: build the config's data and model, open the run folder and run
// the trainer (fresh, or resumed from a checkpoint).
#include <filesystem>

#include "cli/commands.h"
#include "cli/setup.h"
#include "core/error.h"
#include "core/logging.h"
#include "train/model_io.h"
#include "train/resolve.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace seer::cli {

int run_train(const Args& args) {
  ResolvedConfig r = resolve_config(args.positional(0), args.all("--set"));
  if (!r.model) throw ConfigError(r.config.file() + ": the config has no model section");
  if (!r.data.train) throw ConfigError(r.config.file() + ": the config has no data.train section");
  if (args.has("--nproc") && args.get("--nproc") != "1")
    throw UsageError("--nproc: multi-process training is not available in this version (run without --nproc)");
  apply_runtime(r.runtime);

  // --resume without a value continues the run folder's last checkpoint.
  RunDir run = open_run_dir(r.config, r.runtime.work_dir, r.runtime.name, args.get("--work-dir"));
  std::string resume;
  if (args.has("--resume")) {
    resume = args.get("--resume");
    if (resume.empty()) resume = run.checkpoints() + "/last.pt";
    if (!std::filesystem::exists(resume)) throw UsageError("--resume: no checkpoint at '" + resume + "'");
  }

  auto train_set = r.data.train->build_dataset();
  log().info("train: {}", train_set->describe());
  std::shared_ptr<Dataset> val_set;
  if (r.data.val) {
    val_set = r.data.val->build_dataset();
    log().info("val: {}", val_set->describe());
  }
  const CategoryTable& categories = val_set ? val_set->categories() : train_set->categories();

  torch::manual_seed(r.runtime.seed);  // the model's initial weights
  auto model = build_model(r, categories);
  log().info("model: {} with {} parameters ({} trainable)", r.model_type, count_parameters(*model, false),
             count_parameters(*model, true));
  if (!r.model->weights.empty() && resume.empty()) load_model_weights(*model, r.model->weights, r.model->strict_load);

  auto train_loader = std::make_shared<Loader>(train_set, r.data.train->transforms, r.data.train->loader);
  std::shared_ptr<Loader> val_loader;
  if (val_set) val_loader = std::make_shared<Loader>(val_set, r.data.val->transforms, r.data.val->loader);

  TrainerOptions options = trainer_options(r);
  if (r.data.val) set_image_normalisation(r.data.val->transforms, options.image_mean, options.image_std);
  Trainer trainer(options, model, run, train_loader, val_loader, categories);
  trainer.fit(resume);
  log().info("run folder: {}", run.root);
  return 0;
}

}  // namespace seer::cli
