#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "core/distributed.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/predictions.h"
#include "core/visualize.h"
#include "data/collate.h"
#include "data/image_io.h"
#include "data/transform_ops.h"
#include "train/distributed.h"
#include "train/plots.h"

namespace fs = std::filesystem;

namespace seer {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool is_log_only(const std::string& name) { return name.rfind("log/", 0) == 0; }

std::string format_lr(double lr) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2e", lr);
  return buf;
}

// Copy a finished checkpoint (tmp + rename, so readers never see half a file).
void copy_checkpoint(const std::string& from, const std::string& to) {
  if (!dist::is_main()) return;
  std::error_code ec;
  fs::copy_file(from, to + ".tmp", fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(to + ".tmp", to, ec);
  if (ec) throw RuntimeError("cannot write checkpoint '" + to + "': " + ec.message());
}

// Data parallel (train/distributed.h): every worker starts from rank 0's
// weights; a fresh start gives each worker its own RNG stream (dropout), as the
// official code seeds seed + rank. A resume restores rank 0's saved stream everywhere.
void join_data_parallel(Model& model, bool resumed, uint64_t seed) {
  broadcast_module_state(model, 0);
  if (!resumed) torch::manual_seed(seed + static_cast<uint64_t>(dist::rank()));
}

// Data parallel: the gradients of this accumulation window averaged over the
// workers, before clipping and the step, so every worker takes the same step.
void average_gradients(const Optimizer& optimizer, int64_t bucket_mb) {
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : optimizer.named_params()) params.push_back(p);
  all_reduce_gradients(params, bucket_mb << 20);
}

// Data parallel: the logged loss terms as means over the workers (one small
// all-reduce; every worker has the same terms in the same order).
void average_over_workers(std::vector<std::pair<std::string, double>>& values) {
  auto t = torch::empty({static_cast<int64_t>(values.size())}, torch::kFloat64);
  for (size_t i = 0; i < values.size(); ++i) t[static_cast<int64_t>(i)] = values[i].second;
  dist::all_reduce_sum_(t);
  t.div_(dist::world_size());
  for (size_t i = 0; i < values.size(); ++i) values[i].second = t[static_cast<int64_t>(i)].item<double>();
}

}  // namespace

Trainer::Trainer(TrainerOptions options, std::shared_ptr<Model> model, RunDir run, std::shared_ptr<Loader> train,
                 std::shared_ptr<Loader> val, CategoryTable categories)
    : options_(std::move(options)), model_(std::move(model)), run_(std::move(run)), train_(std::move(train)),
      val_(std::move(val)), categories_(std::move(categories)), device_(options_.runtime.device),
      checkpointer_(run_.checkpoints(), options_.train.keep_last), metrics_(run_.metrics_jsonl(), run_.results_csv()) {
  if (!model_) throw RuntimeError("trainer: no model");
  if (!train_) throw RuntimeError("trainer: the config has no data.train split to train on");
  const int64_t every = options_.train.checkpoint_every_iters, acc = options_.optimizer.accumulate_steps;
  if (every > 0 && every % acc != 0)
    throw ConfigError("train.checkpoint_every_iters (" + std::to_string(every) +
                      ") must be a multiple of optimizer.accumulate_steps (" + std::to_string(acc) + ")");
  model_->to(device_);
  optimizer_ = std::make_unique<Optimizer>(*model_, options_.optimizer);
  amp_ = parse_amp_mode(options_.runtime.amp);
  if (amp_ == AmpMode::FP16) scaler_ = std::make_unique<GradScaler>();
  if (options_.train.ema.enabled) ema_ = std::make_unique<ModelEma>(*model_, options_.train.ema);
  state_.seed = options_.runtime.seed;
  state_.best_metric = options_.train.best_metric;
  if (!dist::is_main()) metrics_.set_enabled(false);  // only rank 0 writes metrics.jsonl / results.csv
}

void Trainer::fit(const std::string& resume) {
  started_ = Clock::now();
  elapsed_before_ = 0;
  const int64_t per_epoch = train_->batches_per_epoch();
  if (per_epoch == 0) throw DataError("the training split yields no batch (empty dataset?)");
  const int64_t epochs = options_.schedule.epochs;
  const int64_t total_iters = options_.schedule.max_iters.value_or(epochs * per_epoch);
  schedule_ = std::make_unique<LrSchedule>(options_.lr_schedule, epochs, total_iters);

  std::optional<Checkpoint> ckpt;
  if (!resume.empty()) {
    ckpt = read_checkpoint(resume);
    restore_model(*model_, *ckpt);
    if (ckpt->dict.contains("optimizer")) optimizer_->load_state_dict(ckpt->dict.at("optimizer"));
    else log().warn("{}: no optimizer state; the optimizer starts fresh", resume);
    restore_precision_and_ema(*ckpt);
    state_ = ckpt->state;
    state_.best_metric = options_.train.best_metric;
    if (ckpt->state.best_metric != options_.train.best_metric) state_.best_metric_value.reset();
    if (state_.seed != options_.runtime.seed)
      log().warn("resuming a run seeded {} with runtime.seed {}: data order and augmentation change", state_.seed,
                 options_.runtime.seed);
    state_.seed = options_.runtime.seed;
    elapsed_before_ = state_.elapsed_s;
    metrics_.truncate_after(state_.iter, state_.epoch);
    log().info("resumed from {}: epoch {} (batch {}/{}), iteration {}", resume, state_.epoch + 1,
               state_.batches_done_in_epoch, per_epoch, state_.iter);
  } else {
    metrics_.reset();
  }
  if (state_.epoch >= epochs || (options_.schedule.max_iters && state_.iter >= *options_.schedule.max_iters)) {
    log().info("nothing to do: the run is already at epoch {} / iteration {} (raise schedule.epochs to extend it)",
               state_.epoch, state_.iter);
    return;
  }
  if (options_.runtime.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  log().info("training {} epochs x {} iterations ({} trainable tensors in {} groups), run folder {}", epochs, per_epoch,
             optimizer_->named_params().size(), optimizer_->groups().size(), run_.root);
  // Restored last, so nothing between the checkpoint and the first batch draws from it.
  if (dist::distributed()) join_data_parallel(*model_, ckpt.has_value(), options_.runtime.seed);
  if (ckpt) restore_rng(*ckpt);
  model_->train();
  optimizer_->zero_grad();
  pending_backward_ = 0;

  bool stop = false;
  while (state_.epoch < epochs && !stop) {
    const int64_t epoch = state_.epoch;
    train_one_epoch(epoch, stop);
    if (state_.epoch == epoch + 1) end_of_epoch(epoch + 1);
  }
  if (stop && state_.batches_done_in_epoch > 0) {  // stopped mid-epoch by max_iters
    // the run's end still gets its evaluation, best.pt and results.csv row,
    // labelled with the epoch in progress
    std::vector<std::pair<std::string, double>> row;
    for (const auto& [k, v] : epoch_losses_.sums) row.emplace_back("train/" + k, v / std::max<int64_t>(1, epoch_losses_.count));
    row.emplace_back("lr", optimizer_->lr(0));
    const bool improved = val_ && options_.train.eval_interval > 0 && evaluate_and_track(state_.epoch + 1, &row);
    metrics_.add_result(state_.epoch + 1, row);
    save(checkpointer_.last());
    if (improved) copy_checkpoint(checkpointer_.last(), checkpointer_.best());
    log().info("stopped at schedule.max_iters = {}; checkpoint {}", state_.iter, checkpointer_.last());
  }
  try {
    if (dist::is_main()) write_training_plots(run_.metrics_jsonl(), run_.plots());
  } catch (const std::exception& e) {
    log().warn("plots: {}", e.what());
  }
}

void Trainer::optimizer_step() {
  if (dist::distributed()) average_gradients(*optimizer_, options_.runtime.dist_bucket_mb);
  // fp16: gradients (complete, i.e. after any all-reduce) back to their true
  // scale before clipping; a step with inf/NaN gradients is skipped.
  bool finite = true;
  if (scaler_) {
    std::vector<torch::Tensor> params;
    for (const auto& [name, p] : optimizer_->named_params()) params.push_back(p);
    finite = scaler_->unscale(params);
    scaler_->update(!finite);
    if (!finite) log().debug("iteration {}: inf/NaN gradients, step skipped, loss scale now {}", state_.iter, scaler_->current_scale());
  }
  if (finite) {
    if (options_.optimizer.clip_grad_norm > 0) optimizer_->clip_grad_norm(options_.optimizer.clip_grad_norm);
    optimizer_->step();
    if (ema_) ema_->update(*model_);
  }
  optimizer_->zero_grad();
  pending_backward_ = 0;
}

double Trainer::elapsed_seconds() const { return elapsed_before_ + seconds_since(started_); }

void Trainer::RunningSums::add(const std::vector<std::pair<std::string, double>>& values) {
  for (const auto& [k, x] : values) {
    auto it = std::find_if(sums.begin(), sums.end(), [&](const auto& s) { return s.first == k; });
    if (it == sums.end()) sums.emplace_back(k, x);
    else it->second += x;
  }
  ++count;
}

Trainer::IterationLosses Trainer::forward_losses(const Batch& batch) {
  IterationLosses out;
  {
    AutocastGuard autocast(amp_, device_);  // forward + loss only; backward runs outside
    out.terms = model_->loss(batch_to_device(batch, device_));
  }
  for (const auto& item : out.terms) {
    out.values.emplace_back(item.key(), item.value().detach().item<double>());
    if (is_log_only(item.key())) continue;
    out.total = out.total.defined() ? out.total + item.value() : item.value();
  }
  if (!out.total.defined()) throw RuntimeError("model loss() returned no loss term (only log/ entries or nothing)");
  out.total_value = out.total.detach().item<double>();
  return out;
}

void Trainer::check_finite(const IterationLosses& losses, int64_t epoch) const {
  bool finite = std::isfinite(losses.total_value);
  for (const auto& [k, v] : losses.values) finite = finite && (is_log_only(k) || std::isfinite(v));
  if (finite) return;
  std::ostringstream terms;
  for (const auto& [k, v] : losses.values) terms << (terms.tellp() > 0 ? ", " : "") << k << "=" << v;
  throw RuntimeError("non-finite loss at iteration " + std::to_string(state_.iter + 1) + " (epoch " +
                     std::to_string(epoch + 1) + "): " + terms.str() +
                     "; lower optimizer.lr, enable optimizer.clip_grad_norm or check the data");
}

void Trainer::backward(const torch::Tensor& total) {
  const int64_t acc = options_.optimizer.accumulate_steps;
  torch::Tensor objective = acc > 1 ? total / static_cast<double>(acc) : total;
  (scaler_ ? scaler_->scale(objective) : objective).backward();
  ++pending_backward_;
  ++state_.iter;
  ++state_.batches_done_in_epoch;
  if (pending_backward_ == acc) optimizer_step();
}

std::vector<std::pair<std::string, double>> Trainer::logged_values(const IterationLosses& losses) const {
  std::vector<std::pair<std::string, double>> values = losses.values;
  values.insert(values.begin(), {"loss", losses.total_value});
  if (dist::distributed()) average_over_workers(values);
  return values;
}

bool Trainer::log_due(bool last_of_epoch) const {
  return state_.iter % options_.train.log_interval == 0 || last_of_epoch;
}

void Trainer::write_log_line(int64_t epoch, LogWindow& window, Progress& progress) {
  const double n = static_cast<double>(window.values.count);
  nlohmann::ordered_json line;
  line["iter"] = state_.iter;
  line["epoch"] = epoch + 1;
  line["lr"] = optimizer_->lr(0);
  for (const auto& [k, s] : window.values.sums) line[k] = s / n;
  line["time"] = window.time / n;
  line["data_time"] = window.data_time / n;
  line["elapsed_s"] = elapsed_seconds();
  metrics_.append(line);
  progress.update(state_.batches_done_in_epoch,
                  "loss " + std::to_string(line["loss"].get<double>()).substr(0, 7) + " lr " + format_lr(optimizer_->lr(0)));
  window = LogWindow{};
}

bool Trainer::mid_epoch_checkpoint_due(bool last_of_epoch) const {
  const int64_t every = options_.train.checkpoint_every_iters;
  // at an epoch's end, end_of_epoch() saves; mid-window, the gradients would be lost
  return every > 0 && state_.iter % every == 0 && pending_backward_ == 0 && !last_of_epoch;
}

bool Trainer::max_iters_reached() const {
  return options_.schedule.max_iters && state_.iter >= *options_.schedule.max_iters;
}

void Trainer::train_one_epoch(int64_t epoch, bool& stop) {
  const int64_t per_epoch = train_->batches_per_epoch();
  train_->start_epoch(epoch, state_.batches_done_in_epoch);
  if (state_.batches_done_in_epoch == 0) epoch_losses_.clear();
  Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options_.schedule.epochs), per_epoch);
  LogWindow window;
  bool finished = true;

  auto t_iter = Clock::now();
  while (true) {
    auto batch = train_->next();
    const double data_time = seconds_since(t_iter);
    if (!batch) break;
    optimizer_->set_lr_factor(schedule_->factor(epoch, state_.iter));

    const IterationLosses losses = forward_losses(*batch);
    check_finite(losses, epoch);
    backward(losses.total);

    const auto values = logged_values(losses);
    epoch_losses_.add(values);
    window.values.add(values);
    window.data_time += data_time;
    window.time += seconds_since(t_iter);

    if (on_iteration) on_iteration(state_.iter, losses.terms);

    const bool last_of_epoch = state_.batches_done_in_epoch == per_epoch;
    if (log_due(last_of_epoch)) write_log_line(epoch, window, progress);
    if (mid_epoch_checkpoint_due(last_of_epoch)) save(checkpointer_.last());
    if (max_iters_reached()) {
      stop = true;
      finished = last_of_epoch;
      break;
    }
    t_iter = Clock::now();
  }
  if (pending_backward_ > 0) optimizer_step();  // the epoch's last, partial accumulation
  progress.finish();
  if (finished) {
    state_.epoch = epoch + 1;
    state_.batches_done_in_epoch = 0;
  }
}

void Trainer::end_of_epoch(int64_t epochs_done) {
  const auto& to = options_.train;
  std::vector<std::pair<std::string, double>> row;
  for (const auto& [k, s] : epoch_losses_.sums) row.emplace_back("train/" + k, s / std::max<int64_t>(1, epoch_losses_.count));
  row.emplace_back("lr", optimizer_->lr(0));

  const bool final_epoch = epochs_done == options_.schedule.epochs ||
                           (options_.schedule.max_iters && state_.iter >= *options_.schedule.max_iters);
  const bool do_eval = val_ && to.eval_interval > 0 && (epochs_done % to.eval_interval == 0 || final_epoch);
  const bool improved = do_eval && evaluate_and_track(epochs_done, &row);
  metrics_.add_result(epochs_done, row);
  save(checkpointer_.last());
  if (improved) {
    copy_checkpoint(checkpointer_.last(), checkpointer_.best());
    log().info("new best {} = {:.4f}: {}", to.best_metric, *state_.best_metric_value, checkpointer_.best());
  }
  if (to.checkpoint_interval > 0 && epochs_done % to.checkpoint_interval == 0) {
    copy_checkpoint(checkpointer_.last(), checkpointer_.epoch(epochs_done));
    if (dist::is_main()) checkpointer_.prune();
  }
  try {
    if (dist::is_main()) write_training_plots(run_.metrics_jsonl(), run_.plots());
  } catch (const std::exception& e) {
    log().warn("plots: {}", e.what());
  }
}

bool Trainer::evaluate_and_track(int64_t epochs_done, std::vector<std::pair<std::string, double>>* row) {
  const auto& to = options_.train;
  bool improved = false;
  last_metrics_ = evaluate(epochs_done);
  nlohmann::ordered_json line;
  line["epoch"] = epochs_done;
  line["iter"] = state_.iter;
  for (const auto& [k, v] : last_metrics_) line[k] = v;
  line["elapsed_s"] = elapsed_seconds();
  metrics_.append(line);
  std::string summary;
  for (const auto& [k, v] : last_metrics_) {
    if (k.find("/AP-") != std::string::npos) continue;
    if (row) row->emplace_back(k, v);
    if (summary.size() < 200) summary += (summary.empty() ? "" : ", ") + k + " " + std::to_string(v).substr(0, 6);
  }
  log().info("epoch {} evaluation: {}", epochs_done, summary);
  if (!to.best_metric.empty()) {
    auto it = std::find_if(last_metrics_.begin(), last_metrics_.end(), [&](const auto& m) { return m.first == to.best_metric; });
    if (it == last_metrics_.end()) {
      log().warn("train.best_metric '{}' is not among the evaluation metrics ({}...); best.pt is not written",
                 to.best_metric, last_metrics_.empty() ? "none" : last_metrics_.front().first);
    } else if (std::isfinite(it->second) && (!state_.best_metric_value || it->second > *state_.best_metric_value)) {
      state_.best_metric_value = it->second;
      improved = true;
    }
  }
  return improved;
}

eval::Metrics Trainer::evaluate(int64_t epochs_done) {
  auto evaluator = options_.evaluation.make(categories_);
  std::vector<std::pair<Batch, std::vector<Prediction>>> vis;
  int64_t collected = 0;
  auto hook = [&](const Batch& batch, const std::vector<Prediction>& preds) {
    if (collected >= options_.train.vis_images) return;
    vis.emplace_back(batch, preds);
    collected += batch.size();
  };
  eval::Metrics m;
  {
    EmaSwap use_ema(ema_.get(), *model_);  // the averaged weights, when kept
    m = run_evaluation(*model_, *val_, *evaluator, device_, hook, "eval epoch " + std::to_string(epochs_done));
  }
  try {
    if (dist::is_main()) draw_vis(epochs_done, vis);
  } catch (const std::exception& e) {
    log().warn("vis: {}", e.what());
  }
  return m;
}

void Trainer::draw_vis(int64_t epochs_done, const std::vector<std::pair<Batch, std::vector<Prediction>>>& items) {
  const PredictionView view{options_.predict.score_threshold, options_.predict.max_detections};
  int64_t n = 0;
  for (const auto& [batch, preds] : items) {
    for (int64_t i = 0; i < batch.size() && n < options_.train.vis_images; ++i, ++n) {
      const Target& t = batch.targets[i];
      const int64_t h = t.size[0], w = t.size[1];
      cv::Mat rgb = tensor_to_rgb(batch.images[i].slice(1, 0, h).slice(2, 0, w), options_.normalisation.mean,
                                  options_.normalisation.std);
      // predictions are in original pixels: the image goes back to its original size
      if (t.orig_size[0] > 0 && t.orig_size[1] > 0 && (t.orig_size[0] != h || t.orig_size[1] != w))
        cv::resize(rgb, rgb, {static_cast<int>(t.orig_size[1]), static_cast<int>(t.orig_size[0])}, 0, 0, cv::INTER_LINEAR);
      cv::Mat drawn = draw_prediction(rgb, select_detections(preds[i], view), categories_, t.caption, view);
      std::string path = run_.vis() + "/epoch_" + std::to_string(epochs_done) + "_" + std::to_string(n) + ".jpg";
      write_image_rgb(path, drawn);
    }
  }
}

void Trainer::save(const std::string& path) {
  state_.elapsed_s = elapsed_seconds();
  if (!dist::is_main()) return;  // only rank 0 writes checkpoints
  save_checkpoint(path, *model_, optimizer_.get(), state_, options_.config_yaml, precision_and_ema_state(), categories_);
}

CheckpointExtras Trainer::precision_and_ema_state() const {
  CheckpointExtras extras;
  if (ema_) {
    extras.emplace_back("ema", ema_->state_dict());
    extras.emplace_back("ema_updates", ema_->updates());
  }
  if (scaler_) extras.emplace_back("grad_scaler", scaler_->state_dict());
  return extras;
}

void Trainer::restore_precision_and_ema(const Checkpoint& ckpt) {
  if (ema_) {
    if (ckpt.dict.contains("ema") && ckpt.dict.contains("ema_updates")) {
      ema_->load_state_dict(ckpt.dict.at("ema"), ckpt.dict.at("ema_updates").toInt(), ckpt.path);
    } else {
      log().warn("{}: no EMA in the checkpoint; the average starts from the restored weights", ckpt.path);
      ema_ = std::make_unique<ModelEma>(*model_, options_.train.ema);
    }
  }
  if (scaler_ && ckpt.dict.contains("grad_scaler")) scaler_->load_state_dict(ckpt.dict.at("grad_scaler"));
}

}  // namespace seer
