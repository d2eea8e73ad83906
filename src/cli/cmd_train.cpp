// seer train: build the config's data and model, open the run folder and run
// the trainer (fresh, or resumed from a checkpoint). With --nproc N it launches N
// local workers instead; a worker (or a process started by torchrun, WORLD_SIZE >
// 1) joins the process group, trains on its share of each epoch with
// data.batch_size images per step, and only rank 0 writes the run folder.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/launch.h"
#include "cli/setup.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/logging.h"
#include "train/distributed.h"
#include "train/model_io.h"
#include "cli/resolve.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace seer::cli {

namespace {

// The worker's arguments: this command's, without --nproc.
std::vector<std::string> worker_arguments(const Args& args) {
  std::vector<std::string> a{"train", args.positional(0)};
  for (const auto& kv : args.all("--set")) a.insert(a.end(), {"--set", kv});
  if (args.has("--work-dir")) a.insert(a.end(), {"--work-dir", args.get("--work-dir")});
  if (args.has("--resume")) {
    a.push_back("--resume");
    if (!args.get("--resume").empty()) a.push_back(args.get("--resume"));
  }
  return a;
}

// runtime.inject_failure (fault injection for tests of the failure paths): the
// worker of that rank ends right after joining, as a crash would, so that the
// launcher and its peers must notice.
void inject_failure(const RuntimeOptions& runtime, int rank) {
  if (!runtime.inject_failure_rank || *runtime.inject_failure_rank != rank) return;
  log().warn("runtime.inject_failure: rank {} ends now ({})", rank, runtime.inject_failure_how);
  if (runtime.inject_failure_how == "kill") std::raise(SIGKILL);
  std::_Exit(3);
}

}  // namespace

int run_train(const Args& args) {
  ResolvedConfig r = resolve_config(args.positional(0), args.all("--set"));
  if (!r.model) throw ConfigError(r.config.file() + ": the config has no model section");
  if (!r.data.train) throw ConfigError(r.config.file() + ": the config has no data.train section");
  const int nproc = args.has("--nproc") ? parse_nproc(args.get("--nproc")) : 1;
  const auto denv = read_distributed_env();
  if (nproc > 1) {
    if (denv)
      throw UsageError("--nproc: this process is already worker " + std::to_string(denv->rank) + " of WORLD_SIZE=" +
                       std::to_string(denv->world_size) + " (torchrun?); run without --nproc");
    // what the workers would reject, said once here
    if (args.has("--resume") && !args.get("--resume").empty() && !std::filesystem::exists(args.get("--resume")))
      throw UsageError("--resume: no checkpoint at '" + args.get("--resume") + "'");
    if (args.has("--resume") && args.get("--resume").empty()) {
      RunDir run = locate_run_dir(r.config, r.runtime.work_dir, r.runtime.name, args.get("--work-dir"));
      if (!std::filesystem::exists(run.checkpoints() + "/last.pt"))
        throw UsageError("--resume: no checkpoint at '" + run.checkpoints() + "/last.pt'");
    }
    return launch_local_workers(nproc, worker_arguments(args));
  }

  std::unique_ptr<DistributedSession> session;
  if (denv) {
    // grouping by aspect ratio gives each worker its own number of batches, and
    // workers must take the same number of steps
    if (r.data.train->loader.aspect_ratio_grouping)
      throw ConfigError(r.config.file() + ": data.aspect_ratio_grouping is not supported with distributed training");
    if (r.runtime.device == "cuda") r.runtime.device = "cuda:" + std::to_string(denv->local_rank);
    // the machine's cores shared between its workers unless runtime.threads says otherwise
    if (r.runtime.threads == 0)
      r.runtime.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / denv->local_world_size);
  }
  apply_runtime(r.runtime);
  if (denv) {
    if (denv->rank != 0 && r.runtime.log_level != "error") set_log_level("warn");  // rank 0 speaks for all
    session = std::make_unique<DistributedSession>(*denv, DistributedOptions{r.runtime.dist_timeout_s, r.runtime.device});
    inject_failure(r.runtime, denv->rank);
    for (auto* split : {&r.data.train, &r.data.val})
      if (*split) (*split)->loader.rank = denv->rank, (*split)->loader.world_size = denv->world_size;
  }

  // --resume without a value continues the run folder's last checkpoint.
  RunDir run = dist::is_main() ? open_run_dir(r.config, r.runtime.work_dir, r.runtime.name, args.get("--work-dir"))
                               : locate_run_dir(r.config, r.runtime.work_dir, r.runtime.name, args.get("--work-dir"));
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
  Trainer trainer(options, model, run, train_loader, val_loader, categories);
  trainer.fit(resume);
  log().info("run folder: {}", run.root);
  return 0;
}

}  // namespace seer::cli
