#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace seer {

LrScheduleOptions read_lr_schedule_options(const ConfigSection& s) {
  LrScheduleOptions o;
  o.type = s.get<std::string>("type", o.type, "constant, step, multistep or cosine");
  if (o.type != "constant" && o.type != "step" && o.type != "multistep" && o.type != "cosine")
    s.fail("type", "expects constant, step, multistep or cosine, got '" + o.type + "'");
  o.by = s.get<std::string>("by", o.by, "epoch or iter: the unit of step_size, milestones and the cosine period");
  if (o.by != "epoch" && o.by != "iter") s.fail("by", "expects epoch or iter, got '" + o.by + "'");
  o.step_size = s.get<int64_t>("step_size", o.step_size, "step: multiply the lr by gamma every step_size epochs (iters)");
  if (o.step_size < 1) s.fail("step_size", "must be >= 1");
  o.milestones = s.get<std::vector<int64_t>>("milestones", o.milestones, "multistep: multiply the lr by gamma at each");
  for (size_t i = 1; i < o.milestones.size(); ++i)
    if (o.milestones[i] <= o.milestones[i - 1]) s.fail("milestones", "must be increasing");
  if (o.type == "multistep" && o.milestones.empty()) s.fail("milestones", "multistep needs at least one milestone");
  o.gamma = s.get<double>("gamma", o.gamma, "step / multistep: the lr factor at each drop");
  o.min_lr_ratio = s.get<double>("min_lr_ratio", o.min_lr_ratio, "cosine: final lr as a fraction of the base lr");
  o.warmup_iters = s.get<int64_t>("warmup_iters", o.warmup_iters, "linear warm-up iterations (0 = none)");
  if (o.warmup_iters < 0) s.fail("warmup_iters", "must be >= 0");
  o.warmup_factor = s.get<double>("warmup_factor", o.warmup_factor, "warm-up starts at warmup_factor * lr");
  return o;
}

LrSchedule::LrSchedule(LrScheduleOptions options, int64_t total_epochs, int64_t total_iters)
    : options_(std::move(options)), total_epochs_(std::max<int64_t>(1, total_epochs)),
      total_iters_(std::max<int64_t>(1, total_iters)) {}

double LrSchedule::factor(int64_t epoch, int64_t iter) const {
  const auto& o = options_;
  const bool by_iter = o.by == "iter";
  const int64_t t = by_iter ? iter : epoch;
  double f = 1.0;
  if (o.type == "step") {
    f = std::pow(o.gamma, static_cast<double>(t / o.step_size));
  } else if (o.type == "multistep") {
    auto passed = std::upper_bound(o.milestones.begin(), o.milestones.end(), t) - o.milestones.begin();
    f = std::pow(o.gamma, static_cast<double>(passed));
  } else if (o.type == "cosine") {
    const double T = static_cast<double>(by_iter ? total_iters_ : total_epochs_);
    const double x = std::min(static_cast<double>(t), T) / T;
    f = o.min_lr_ratio + (1.0 - o.min_lr_ratio) * 0.5 * (1.0 + std::cos(M_PI * x));
  }
  if (iter < o.warmup_iters)
    f *= o.warmup_factor + (1.0 - o.warmup_factor) * static_cast<double>(iter) / static_cast<double>(o.warmup_iters);
  return f;
}

}  // namespace seer
