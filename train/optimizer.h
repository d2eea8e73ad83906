#pragma once
// The `optimizer:` section and the optimizer the trainer steps: AdamW or SGD
// over the model's trainable parameters (requires_grad; frozen ones are left
// out), split into parameter groups by regex on the parameter name.
//
//   optimizer:
//     type: adamw              # adamw | sgd
//     lr: 1.0e-4
//     weight_decay: 1.0e-4
//     betas: [0.9, 0.999]      # adamw
//     momentum: 0.9            # sgd
//     param_groups:            # first matching pattern wins; unmatched -> the base group
//       - {pattern: '^backbone\.', lr: 1.0e-5}   # lr or lr_mult, optional weight_decay
//     clip_grad_norm: 0.1      # max total L2 norm of all gradients (0 = off)
//     accumulate_steps: 1      # batches whose gradients are summed per step
//
// Group 0 is always the base group (its lr is the one logged); the pattern groups
// follow in config order. The state is saved by parameter NAME (not by position),
// so a checkpoint stays readable when the model changes, and Python can read it.
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace seer {

struct ParamGroupRule {
  std::string pattern;                 // std::regex_search on the parameter name
  std::optional<double> lr;            // absolute lr, or
  std::optional<double> lr_mult;       // a multiple of optimizer.lr
  std::optional<double> weight_decay;  // else optimizer.weight_decay
};

struct OptimizerOptions {
  std::string type = "adamw";  // adamw | sgd
  double lr = 1e-4;
  double weight_decay = 1e-4;
  std::vector<double> betas{0.9, 0.999};
  double momentum = 0.9;
  std::vector<ParamGroupRule> param_groups;
  double clip_grad_norm = 0.0;  // 0 = off
  int64_t accumulate_steps = 1;
};
OptimizerOptions read_optimizer_options(const ConfigSection& optimizer);

struct ParamGroupInfo {
  std::string name;     // "base" or the rule's pattern
  double base_lr = 0;   // lr before the schedule's factor
  double weight_decay = 0;
  std::vector<std::string> param_names;
};

class Optimizer {
 public:
  // Groups with no parameter (a pattern that matched nothing) are dropped, with a
  // warning; the base group is kept even when empty so group 0 always exists.
  Optimizer(torch::nn::Module& model, OptimizerOptions options);

  const OptimizerOptions& options() const { return options_; }
  const std::vector<ParamGroupInfo>& groups() const { return groups_; }
  // Every optimised parameter with its name, in model order.
  const std::vector<std::pair<std::string, torch::Tensor>>& named_params() const { return params_; }

  // Each group's lr = its base lr * factor (what LR schedules call).
  void set_lr_factor(double factor);
  double lr(size_t group = 0) const;

  void zero_grad();
  // Scale gradients so that their total L2 norm (over all parameters, like
  // torch.nn.utils.clip_grad_norm_) is at most max_norm; returns the norm before.
  double clip_grad_norm(double max_norm);
  void step();

  // {"state": {param name: {"exp_avg", "exp_avg_sq", "step"} | {"momentum_buffer"}},
  //  "param_groups": [{"name", "lr", "initial_lr", "weight_decay", "params": [names]}]}
  c10::IValue state_dict() const;
  // Restores per-parameter state by name (parameters absent from the file start
  // fresh, with a warning) and each group's current lr. RuntimeError when the
  // file's optimizer type differs.
  void load_state_dict(const c10::IValue& state);

 private:
  void adamw_step();  // the fused AdamW update (see optimizer.cpp)

  OptimizerOptions options_;
  std::vector<ParamGroupInfo> groups_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::unique_ptr<torch::optim::Optimizer> opt_;
};

}  // namespace seer
