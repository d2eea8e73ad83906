#pragma once
// The training loop (DESIGN.md §6): per iteration model->loss(batch), sum of the
// terms not named "log/...", (sum / accumulate_steps).backward(), and every
// accumulate_steps batches: clip, optimizer step, zero_grad. The LR schedule sets
// each group's lr before every step. Hooks around the loop: metrics.jsonl lines
// and a progress bar every log_interval iterations, evaluation + results.csv +
// best.pt + vis/ every eval_interval epochs, checkpoints, plots.
//
// runtime.amp runs model->loss() under autocast (bf16 / fp16) and, for fp16,
// scales the loss and skips steps whose gradients overflowed; train.ema keeps a
// moving average of the weights that evaluation (and so best.pt) uses.
//
// Resume (fit(path)) restores weights, optimizer state, EMA, gradient scale, RNG, the epoch / iteration
// and the loader position, so in deterministic mode the run continues exactly as
// if it had not stopped (same losses). schedule.epochs may be raised to extend a
// finished run.
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/types.h"
#include "data/loader.h"
#include "models/model.h"
#include "train/amp.h"
#include "train/checkpointer.h"
#include "train/ema.h"
#include "train/evaluation.h"
#include "train/lr_schedule.h"
#include "train/metrics_log.h"
#include "train/optimizer.h"
#include "train/options.h"
#include "train/run_dir.h"

namespace seer {

struct TrainerOptions {
  RuntimeOptions runtime;
  ScheduleOptions schedule;
  PredictOptions predict;
  OptimizerOptions optimizer;
  LrScheduleOptions lr_schedule;
  TrainOptions train;
  eval::EvaluatorSpec evaluation;
  std::string config_yaml;  // the resolved config, stored in checkpoints
  // How the val images were normalised (to draw them into vis/); ImageNet's by default.
  std::array<double, 3> image_mean{0.485, 0.456, 0.406}, image_std{0.229, 0.224, 0.225};
};

class Trainer {
 public:
  // `val` may be null (no evaluation); `categories` is the val (else train)
  // dataset's table for the evaluator and the drawings. The model is moved to
  // runtime.device.
  Trainer(TrainerOptions options, std::shared_ptr<Model> model, RunDir run, std::shared_ptr<Loader> train,
          std::shared_ptr<Loader> val, CategoryTable categories);

  // Train until schedule.epochs (or max_iters). `resume` = a checkpoint to
  // continue from ("" = fresh start: metrics files of an earlier run are cleared).
  // Throws RuntimeError on a non-finite loss, naming the iteration and the terms.
  void fit(const std::string& resume = "");

  // Called after every iteration with the global iteration (1-based) and the
  // loss terms (for tests and custom monitoring). An exception thrown here
  // stops fit() and propagates.
  std::function<void(int64_t iter, const LossDict& losses)> on_iteration;

  const TrainState& state() const { return state_; }
  Optimizer& optimizer() { return *optimizer_; }
  // The weight average (null unless train.ema.enabled) and the fp16 gradient
  // scaler (null unless runtime.amp is fp16).
  ModelEma* ema() { return ema_.get(); }
  const GradScaler* grad_scaler() const { return scaler_.get(); }
  // The metrics of the last evaluation (empty before any).
  const eval::Metrics& last_metrics() const { return last_metrics_; }

 private:
  void train_one_epoch(int64_t epoch, bool& stop);
  void optimizer_step();
  void end_of_epoch(int64_t epoch_done);
  eval::Metrics evaluate(int64_t epochs_done);
  // Evaluate, log a metrics line (and results.csv cells into `row` when given),
  // and track best_metric; true when it improved.
  bool evaluate_and_track(int64_t epochs_done, std::vector<std::pair<std::string, double>>* row);
  void save(const std::string& path);
  // Precision and averaging (train/amp.h, train/ema.h): what checkpoints carry
  // for them, and restoring it on resume.
  CheckpointExtras precision_and_ema_state() const;
  void restore_precision_and_ema(const Checkpoint& ckpt);
  void draw_vis(int64_t epochs_done, const std::vector<std::pair<Batch, std::vector<Prediction>>>& items);

  TrainerOptions options_;
  std::shared_ptr<Model> model_;
  RunDir run_;
  std::shared_ptr<Loader> train_, val_;
  CategoryTable categories_;
  torch::Device device_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  AmpMode amp_ = AmpMode::Off;
  std::unique_ptr<GradScaler> scaler_;  // fp16 only
  std::unique_ptr<ModelEma> ema_;       // train.ema.enabled only
  Checkpointer checkpointer_;
  MetricsLog metrics_;
  TrainState state_;
  eval::Metrics last_metrics_;
  // running sums of the loss terms over the current epoch (for results.csv)
  std::vector<std::pair<std::string, double>> epoch_loss_sums_;
  int64_t epoch_loss_count_ = 0;
  int64_t pending_backward_ = 0;  // batches accumulated since the last step
};

}  // namespace seer
