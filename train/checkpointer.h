#pragma once
// Training checkpoints: everything an exact resume needs, in one file that
// Python's torch.load also reads (a plain dict written by torch::pickle_save):
//
//   {"model":     {name: tensor}            parameters and buffers, module order, official names
//    "optimizer": {"type", "state": {param name: {exp_avg, exp_avg_sq, step} | {momentum_buffer}},
//                  "param_groups": [{name, lr, initial_lr, weight_decay, params: [names]}]}
//    "meta":      {"family", "epoch", "iter", "batches_done_in_epoch", "best_metric_value",
//                  "best_metric", "seed", "elapsed_s", "seer_version"}
//    "rng":       the default CPU generator's state (uint8 tensor)
//    "config":    the resolved config as YAML text
//    "ema", "ema_updates", "grad_scaler": when train.ema / runtime.amp fp16 are on}
//
// "epoch" is the 0-based epoch to continue with and "batches_done_in_epoch" how
// many of its batches were consumed (0 at an epoch boundary); "elapsed_s" the
// training wall time so far, which a resumed run continues (0 when an older
// checkpoint lacks it). The LR schedule is a
// function of (epoch, iter), so it needs no state of its own. Files are written
// atomically (tmp + rename), so a crash never leaves a truncated checkpoint.
// `seer eval/predict --weights` read the "ema" entry when there is one, else
// "model" (train/model_io.h).
#include <torch/torch.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "train/optimizer.h"

namespace seer {

struct TrainState {
  int64_t epoch = 0;                  // 0-based epoch in progress (= epochs completed at a boundary)
  int64_t iter = 0;                   // iterations (batches) done in total
  int64_t batches_done_in_epoch = 0;  // batches of `epoch` already consumed
  std::optional<double> best_metric_value;
  std::string best_metric;            // its name
  uint64_t seed = 0;
  double elapsed_s = 0;               // training wall time since the run started, in seconds
};

struct Checkpoint {
  std::string path;
  c10::impl::GenericDict dict{c10::StringType::get(), c10::AnyType::get()};  // the whole file
  TrainState state;
  std::string family;
  std::string config_yaml;
  std::string seer_version;
};

// Further top-level entries of a checkpoint, e.g. "ema" (name -> tensor, the
// averaged weights, train/ema.h), "ema_updates" (int) and "grad_scaler" (train/amp.h).
using CheckpointExtras = std::vector<std::pair<std::string, c10::IValue>>;

// Writes a checkpoint (see above). `optimizer` may be null (weights + meta only).
void save_checkpoint(const std::string& path, Model& model, const Optimizer* optimizer, const TrainState& state,
                     const std::string& config_yaml, const CheckpointExtras& extras = {},
                     const CategoryTable& categories = {});

// Reads a checkpoint written by save_checkpoint. DataError when the file is
// missing, unreadable or lacks the entries above.
Checkpoint read_checkpoint(const std::string& path);

// Copies the checkpoint's weights into `model` (strict: every name and shape must
// match) after checking the family. RuntimeError on a mismatch.
void restore_model(Model& model, const Checkpoint& ckpt);
// Sets the default CPU generator to the saved state.
void restore_rng(const Checkpoint& ckpt);

// The run's checkpoints/ folder: last.pt, best.pt, epoch_N.pt (N 1-based, keep_last kept).
class Checkpointer {
 public:
  Checkpointer(std::string dir, int64_t keep_last) : dir_(std::move(dir)), keep_last_(keep_last) {}
  std::string last() const { return dir_ + "/last.pt"; }
  std::string best() const { return dir_ + "/best.pt"; }
  std::string epoch(int64_t n) const { return dir_ + "/epoch_" + std::to_string(n) + ".pt"; }
  // Deletes the oldest epoch_N.pt beyond keep_last (0 = keep all).
  void prune() const;

 private:
  std::string dir_;
  int64_t keep_last_;
};

}  // namespace seer
