#include "train/options.h"

namespace seer {

RuntimeOptions read_runtime_options(const ConfigSection& s) {
  RuntimeOptions o;
  o.seed = static_cast<uint64_t>(s.get<int64_t>("seed", 42, "seed of every random choice (init, sampling, augmentation)"));
  o.deterministic = s.get<bool>("deterministic", false, "use deterministic algorithms (exact resume, slower)");
  o.device = s.get<std::string>("device", "cpu", "cpu, cuda or cuda:N");
  if (o.device != "cpu" && o.device != "cuda" && o.device.rfind("cuda:", 0) != 0)
    s.fail("device", "expects cpu, cuda or cuda:N, got '" + o.device + "'");
  o.threads = s.get<int>("threads", 0, "intra-op threads (0 = one per core)");
  if (o.threads < 0) s.fail("threads", "must be >= 0");
  o.work_dir = s.get<std::string>("work_dir", "runs", "parent folder of run folders");
  o.name = s.get<std::string>("name", "", "run folder name ('' = the config file's stem)");
  o.log_level = s.get<std::string>("log_level", "info", "debug, info, warn or error");
  if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warn" && o.log_level != "error")
    s.fail("log_level", "expects debug, info, warn or error");
  return o;
}

ScheduleOptions read_schedule_options(const ConfigSection& s) {
  ScheduleOptions o;
  o.epochs = s.get<int64_t>("epochs", 1, "training epochs");
  if (o.epochs < 1) s.fail("epochs", "must be >= 1");
  o.max_iters = s.optional<int64_t>("max_iters", "stop after this many iterations (null = run all epochs)");
  if (o.max_iters && *o.max_iters < 1) s.fail("max_iters", "must be >= 1");
  return o;
}

PredictOptions read_predict_options(const ConfigSection& s) {
  PredictOptions o;
  o.score_threshold = s.get<double>("score_threshold", 0.3, "keep detections scoring at least this");
  o.max_detections = s.get<int64_t>("max_detections", 100, "keep at most this many detections per image");
  if (o.max_detections < 1) s.fail("max_detections", "must be >= 1");
  return o;
}

TrainOptions read_train_options(const ConfigSection& s) {
  TrainOptions o;
  o.log_interval = s.get<int64_t>("log_interval", o.log_interval, "iterations between metrics.jsonl lines and progress updates");
  if (o.log_interval < 1) s.fail("log_interval", "must be >= 1");
  o.eval_interval = s.get<int64_t>("eval_interval", o.eval_interval, "epochs between evaluations on data.val (0 = never)");
  o.checkpoint_interval =
      s.get<int64_t>("checkpoint_interval", o.checkpoint_interval, "epochs between checkpoints/epoch_N.pt (0 = none)");
  o.keep_last = s.get<int64_t>("keep_last", o.keep_last, "epoch_N.pt checkpoints kept (0 = all)");
  o.best_metric = s.get<std::string>("best_metric", o.best_metric,
                                     "evaluation metric (higher is better) that selects checkpoints/best.pt ('' = none)");
  o.vis_images = s.get<int64_t>("vis_images", o.vis_images, "validation images drawn into vis/ after each evaluation");
  o.checkpoint_every_iters = s.get<int64_t>("checkpoint_every_iters", o.checkpoint_every_iters,
                                            "also write checkpoints/last.pt every N iterations (0 = off)");
  const std::pair<const char*, int64_t> non_negative[] = {{"eval_interval", o.eval_interval},
                                                          {"checkpoint_interval", o.checkpoint_interval},
                                                          {"keep_last", o.keep_last},
                                                          {"vis_images", o.vis_images},
                                                          {"checkpoint_every_iters", o.checkpoint_every_iters}};
  for (const auto& [key, value] : non_negative)
    if (value < 0) s.fail(key, "must be >= 0");
  return o;
}

}  // namespace seer
