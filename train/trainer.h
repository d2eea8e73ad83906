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
// Every metrics.jsonl line carries "elapsed_s", the training wall time since the
// run started; checkpoints store it, so a resumed run continues the count.
//
// Resume (fit(path)) restores weights, optimizer state, EMA, gradient scale, RNG, the epoch / iteration
// and the loader position, so in deterministic mode the run continues exactly as
// if it had not stopped (same losses). schedule.epochs may be raised to extend a
// finished run.
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/types.h"
#include "data/loader.h"
#include "data/transform_ops.h"
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

class Progress;

struct TrainerOptions {
  RuntimeOptions runtime;
  ScheduleOptions schedule;
  PredictOptions predict;
  OptimizerOptions optimizer;
  LrScheduleOptions lr_schedule;
  TrainOptions train;
  eval::EvaluatorSpec evaluation;
  std::string config_yaml;  // the resolved config, stored in checkpoints
  // How the val (else train) images were normalised, to draw them into vis/.
  ImageNormalisation normalisation;
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
  // Running sums of logged values, in first-seen order, over a window of
  // iterations (one log line, one epoch).
  struct RunningSums {
    std::vector<std::pair<std::string, double>> sums;
    int64_t count = 0;
    void add(const std::vector<std::pair<std::string, double>>& values);
    void clear() { sums.clear(), count = 0; }
  };
  // What the next metrics.jsonl training line averages.
  struct LogWindow {
    RunningSums values;
    double time = 0, data_time = 0;  // seconds summed over its iterations
  };
  // One iteration's loss terms: the total that backward runs on (the terms not
  // named "log/..."), its value, and every term's value (log/ ones included).
  struct IterationLosses {
    LossDict terms;
    torch::Tensor total;
    double total_value = 0;
    std::vector<std::pair<std::string, double>> values;
  };

  void train_one_epoch(int64_t epoch, bool& stop);
  // The steps of one iteration, in the order train_one_epoch takes them.
  IterationLosses forward_losses(const Batch& batch);
  void check_finite(const IterationLosses& losses, int64_t epoch) const;
  void backward(const torch::Tensor& total);  // + the optimizer step when the accumulation window is full
  std::vector<std::pair<std::string, double>> logged_values(const IterationLosses& losses) const;
  bool log_due(bool last_of_epoch) const;
  void write_log_line(int64_t epoch, LogWindow& window, Progress& progress);  // and empty the window
  bool mid_epoch_checkpoint_due(bool last_of_epoch) const;
  bool max_iters_reached() const;
  void optimizer_step();
  // Training wall time of the run: the checkpoint's at resume plus this process's.
  double elapsed_seconds() const;
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
  RunningSums epoch_losses_;       // the loss terms over the current epoch (for results.csv)
  int64_t pending_backward_ = 0;  // batches accumulated since the last step
  std::chrono::steady_clock::time_point started_;  // when fit() began
  double elapsed_before_ = 0;     // training time of the run before this fit() (resume)
};

}  // namespace seer
