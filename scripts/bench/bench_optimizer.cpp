// Benchmark (not a test): one AdamW step of seer::Optimizer (the fused update
// in train/optimizer.cpp) against torch::optim::AdamW, LibTorch's own, on the
// trainable parameters of the model a config builds, with the same random
// gradients. The two alternate step by step, so machine drift hits both alike.
//
//   bench_optimizer --config configs/detr/detr_r18_synthetic.yaml [--set key=value]...
//                   [--steps 30] [--threads N]
//
// Prints the parameter count, the median ms of each step, their ratio, and
// the largest difference between the two parameter copies after all steps
// (they start equal; the updates agree to float rounding).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/error.h"
#include "train/optimizer.h"
#include "cli/resolve.h"

namespace {

using seer::bench::Clock;
using seer::bench::median;
using seer::bench::ms_since;

int64_t parse_int(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const int64_t n = std::stoll(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw seer::ConfigError("bench_optimizer: " + flag + " expects an integer, got '" + v + "'");
}

int run(int argc, char** argv) {
  std::string config;
  std::vector<std::string> sets;
  int64_t steps = 30, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw seer::ConfigError("bench_optimizer: " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--config") config = v;
    else if (a == "--set") sets.push_back(v);
    else if (a == "--steps") steps = parse_int(a, v);
    else if (a == "--threads") threads = parse_int(a, v);
    else throw seer::ConfigError("bench_optimizer: unknown flag " + a);
  }
  if (config.empty()) throw seer::ConfigError("bench_optimizer: --config is required");
  if (steps < 1) throw seer::ConfigError("bench_optimizer: --steps must be >= 1");
  if (threads > 0) torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);

  seer::ResolvedConfig r = seer::resolve_config(config, sets);
  if (!r.model) throw seer::ConfigError(config + ": no model section");
  if (r.optimizer.type != "adamw") throw seer::ConfigError(config + ": optimizer.type must be adamw here");
  seer::CategoryTable cats;
  for (int64_t id = 1; id <= 90; ++id) cats.add(id, "c" + std::to_string(id));
  auto ours = r.model->build(cats);
  seer::Optimizer optimizer(*ours, r.optimizer);

  // The yardstick: torch::optim::AdamW with the same groups, on a copy
  // (theirs[i] is the copy of named_params()[i]).
  std::vector<torch::Tensor> theirs;
  std::map<std::string, torch::Tensor> copy_of;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  int64_t numel = 0;
  {
    torch::NoGradGuard ng;
    for (const auto& [n, p] : optimizer.named_params()) {
      theirs.push_back(p.detach().clone().requires_grad_(true));
      copy_of[n] = theirs.back();
      numel += p.numel();
    }
    for (const auto& g : optimizer.groups()) {
      std::vector<torch::Tensor> ps;
      for (const auto& name : g.param_names) ps.push_back(copy_of.at(name));
      auto o = std::make_unique<torch::optim::AdamWOptions>(g.base_lr);
      o->betas({r.optimizer.betas[0], r.optimizer.betas[1]}).weight_decay(g.weight_decay);
      groups.emplace_back(ps, std::move(o));
    }
  }
  torch::optim::AdamW reference(groups, torch::optim::AdamWOptions(r.optimizer.lr));

  std::vector<double> t_ours, t_theirs, t_clip;
  for (int64_t s = 0; s < steps; ++s) {
    size_t k = 0;
    for (const auto& [n, p] : optimizer.named_params()) {
      auto g = torch::randn_like(p) * 1e-3;
      p.mutable_grad() = g;
      theirs[k++].mutable_grad() = g.clone();
    }
    auto tc = Clock::now();
    optimizer.clip_grad_norm(1e9);
    t_clip.push_back(ms_since(tc));
    auto t0 = Clock::now();
    optimizer.step();
    t_ours.push_back(ms_since(t0));
    auto t1 = Clock::now();
    reference.step();
    t_theirs.push_back(ms_since(t1));
  }
  double diff = 0;
  size_t k = 0;
  for (const auto& [n, p] : optimizer.named_params())
    diff = std::max(diff, (p - theirs[k++]).abs().max().item<double>());
  const double a = median(t_ours), b = median(t_theirs);
  std::printf("threads %d params %lld steps %lld\n", torch::get_num_threads(), static_cast<long long>(numel),
              static_cast<long long>(steps));
  std::printf("seer_clip_grad_norm_ms %.2f\n", median(t_clip));
  std::printf("seer_adamw_ms %.2f\ntorch_adamw_ms %.2f\nspeedup %.2fx\nmax_param_diff %.3g\n", a, b, b / a, diff);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return seer::bench::guarded_main(run, argc, argv); }
