#include "train/options.h"

#include <torch/cuda.h>

namespace seer {

namespace {

// A CUDA device needs a CUDA build of LibTorch and that GPU: say so in one line
// naming the key instead of failing later inside model.to(device).
void check_device_available(const ConfigSection& s, const std::string& device) {
  if (device == "cpu") return;
  if (!torch::cuda::is_available())
    s.fail("device", "'" + device + "' needs a CUDA build of LibTorch and a visible GPU (this build sees none; use cpu)");
  if (device.size() > 5) {
    const std::string index = device.substr(5);
    const bool digits = !index.empty() && index.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoll(index) >= static_cast<long long>(torch::cuda::device_count()))
      s.fail("device", "'" + device + "': no such GPU (" + std::to_string(torch::cuda::device_count()) + " visible)");
  }
}

}  // namespace

RuntimeOptions read_runtime_options(const ConfigSection& s) {
  RuntimeOptions o;
  o.seed = static_cast<uint64_t>(s.get<int64_t>("seed", 42, "seed of every random choice (init, sampling, augmentation)"));
  o.deterministic = s.get<bool>("deterministic", false, "use deterministic algorithms (exact resume, slower)");
  o.device = s.get<std::string>("device", "cpu", "cpu, cuda or cuda:N");
  if (o.device != "cpu" && o.device != "cuda" && o.device.rfind("cuda:", 0) != 0)
    s.fail("device", "expects cpu, cuda or cuda:N, got '" + o.device + "'");
  check_device_available(s, o.device);
  o.amp = s.get<std::string>("amp", "off", "autocast of forward + loss: off, bf16 (CPU or CUDA) or fp16 (CUDA, with a gradient scaler)");
  if (o.amp != "off" && o.amp != "bf16" && o.amp != "fp16") s.fail("amp", "expects off, bf16 or fp16, got '" + o.amp + "'");
  if (o.amp == "fp16" && o.device == "cpu")
    s.fail("amp", "fp16 needs runtime.device cuda (CPU autocast supports bfloat16 only): use amp: bf16");
  o.threads = s.get<int>("threads", 0, "intra-op threads (0 = one per core)");
  if (o.threads < 0) s.fail("threads", "must be >= 0");
  o.work_dir = s.get<std::string>("work_dir", "runs", "parent folder of run folders");
  o.name = s.get<std::string>("name", "", "run folder name ('' = the config file's stem)");
  o.log_level = s.get<std::string>("log_level", "info", "debug, info, warn or error");
  if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warn" && o.log_level != "error")
    s.fail("log_level", "expects debug, info, warn or error");
  o.dist_timeout_s = s.get<double>("dist_timeout_s", o.dist_timeout_s,
                                   "distributed training: seconds to wait for the workers to join and for each exchange");
  if (!(o.dist_timeout_s > 0)) s.fail("dist_timeout_s", "must be > 0");
  o.dist_bucket_mb = s.get<int64_t>("dist_bucket_mb", o.dist_bucket_mb,
                                    "distributed training: gradients are averaged in buckets of about this many MB");
  if (o.dist_bucket_mb < 1) s.fail("dist_bucket_mb", "must be >= 1");
  const ConfigSection inject = s.sub("inject_failure");
  o.inject_failure_rank = inject.optional<int>(
      "rank", "fault injection (testing only): distributed worker of this rank ends right after joining (null = off)");
  if (o.inject_failure_rank && *o.inject_failure_rank < 0) inject.fail("rank", "must be >= 0 (null = off)");
  o.inject_failure_how = inject.get<std::string>(
      "how", "exit", "fault injection (testing only): how that worker ends: exit (status 3) or kill (SIGKILL)");
  if (o.inject_failure_how != "exit" && o.inject_failure_how != "kill")
    inject.fail("how", "expects exit or kill, got '" + o.inject_failure_how + "'");
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

EmaOptions read_ema_options(const ConfigSection& s) {
  EmaOptions o;
  o.enabled = s.get<bool>("enabled", o.enabled, "keep an EMA of the weights; evaluate and pick best.pt with it");
  o.decay = s.get<double>("decay", o.decay, "EMA decay once warmed up");
  o.tau = s.get<double>("tau", o.tau, "EMA warm-up: decay_t = decay * (1 - exp(-updates / tau)); updates = optimizer steps");
  if (!(o.decay >= 0 && o.decay < 1)) s.fail("decay", "must be in [0, 1)");
  if (!(o.tau > 0)) s.fail("tau", "must be > 0");
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
                                     "evaluation metric (higher is better) that selects checkpoints/best.pt: auto (the evaluator's main "
                                     "metric, e.g. bbox/AP50) | a metric name of the evaluator | '' (none)");
  o.vis_images = s.get<int64_t>("vis_images", o.vis_images, "validation images drawn into vis/ after each evaluation");
  o.checkpoint_every_iters = s.get<int64_t>("checkpoint_every_iters", o.checkpoint_every_iters,
                                            "also write checkpoints/last.pt every N iterations (0 = off)");
  o.ema = read_ema_options(s.sub("ema"));
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
