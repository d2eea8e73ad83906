#pragma once
// The top-level config sections every command shares: runtime, schedule, predict,
// and the trainer's hooks (train:).
#include <cstdint>
#include <optional>
#include <string>

#include "core/config.h"

namespace seer {

struct RuntimeOptions {
  uint64_t seed = 42;
  bool deterministic = false;  // deterministic algorithms; exact resume
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string amp = "off";     // off | bf16 | fp16: autocast of forward + loss (train/amp.h)
  int threads = 0;             // intra-op threads (0 = all cores)
  std::string work_dir = "runs";
  std::string name;            // run folder name under work_dir ("" = config file stem)
  std::string log_level = "info";
  double dist_timeout_s = 1800;  // distributed: wait for peers to join and for every collective (train/distributed.h)
  int64_t dist_bucket_mb = 25;   // distributed: gradients are averaged in flat buckets of about this size
  // runtime.inject_failure: fault injection for testing failure handling, off
  // unless set. The distributed worker of rank `rank` ends right after joining
  // the process group, as a crash would: `how` exit (status 3) or kill (SIGKILL).
  std::optional<int> inject_failure_rank;
  std::string inject_failure_how = "exit";
};
RuntimeOptions read_runtime_options(const ConfigSection& runtime);

struct ScheduleOptions {
  int64_t epochs = 1;
  std::optional<int64_t> max_iters;  // stop after this many iterations when set
};
ScheduleOptions read_schedule_options(const ConfigSection& schedule);

struct PredictOptions {
  double score_threshold = 0.3;
  int64_t max_detections = 100;
};
PredictOptions read_predict_options(const ConfigSection& predict);

// `train.ema:` an exponential moving average of the weights (train/ema.h), used
// for evaluation and saved in checkpoints under "ema" when enabled.
struct EmaOptions {
  bool enabled = false;
  double decay = 0.9999;  // final decay
  double tau = 2000;      // warm-up: decay_t = decay * (1 - exp(-updates / tau))
};
EmaOptions read_ema_options(const ConfigSection& ema);

// `train:` when the trainer logs, evaluates, checkpoints and draws.
struct TrainOptions {
  int64_t log_interval = 10;            // iterations between metrics.jsonl lines / progress updates
  int64_t eval_interval = 1;            // epochs between evaluations (0 = never)
  int64_t checkpoint_interval = 1;      // epochs between checkpoints/epoch_N.pt (0 = none)
  int64_t keep_last = 3;                // epoch_N.pt files kept (0 = all)
  // Evaluator metric (higher is better) that selects best.pt ("" = none; "auto"
  // = the evaluator's main metric, resolved with the evaluation section).
  std::string best_metric = "auto";
  int64_t vis_images = 4;               // validation images drawn into vis/ after each evaluation
  int64_t checkpoint_every_iters = 0;   // also write last.pt every N iterations (0 = off)
  EmaOptions ema;
};
TrainOptions read_train_options(const ConfigSection& train);

}  // namespace seer
