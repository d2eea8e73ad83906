#pragma once
// The `lr_schedule:` section: the factor each group's base lr is multiplied by,
// as a pure function of the training position, so resuming needs only the
// position (epoch, iteration) and nothing is accumulated step by step.
//
//   lr_schedule:
//     type: step          # constant | step | multistep | cosine
//     by: epoch           # epoch | iter: what step_size / milestones / cosine count
//     step_size: 200      # step: multiply by gamma every step_size epochs (iters)
//     milestones: []      # multistep: multiply by gamma at each of these
//     gamma: 0.1
//     min_lr_ratio: 0.0   # cosine: final lr / base lr
//     warmup_iters: 0     # linear warm-up over the first iterations (always per iteration)
//     warmup_factor: 0.001
//
// Positions are 0-based: during epoch e (0 = first) and iteration i (0 = first
// batch), step gives gamma^floor(e / step_size), like torch's StepLR stepped once
// per epoch (DETR's lr_drop: 200 -> epochs 0..199 at lr, 200.. at 0.1 lr).
// Cosine: min + (1 - min) * (1 + cos(pi * t / T)) / 2 with T the total epochs
// (iterations). Warm-up multiplies by warmup_factor + (1 - warmup_factor) * i / warmup_iters
// while i < warmup_iters (mmdetection's LinearLR warm-up).
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace seer {

struct LrScheduleOptions {
  std::string type = "step";      // constant | step | multistep | cosine
  std::string by = "epoch";       // epoch | iter
  int64_t step_size = 200;
  std::vector<int64_t> milestones;
  double gamma = 0.1;
  double min_lr_ratio = 0.0;
  int64_t warmup_iters = 0;
  double warmup_factor = 0.001;
};
LrScheduleOptions read_lr_schedule_options(const ConfigSection& lr_schedule);

class LrSchedule {
 public:
  // total_epochs / total_iters: the run's length (cosine's T).
  LrSchedule(LrScheduleOptions options, int64_t total_epochs, int64_t total_iters);
  // The factor for iteration `iter` (global, 0-based) inside epoch `epoch` (0-based).
  double factor(int64_t epoch, int64_t iter) const;
  const LrScheduleOptions& options() const { return options_; }

 private:
  LrScheduleOptions options_;
  int64_t total_epochs_, total_iters_;
};

}  // namespace seer
