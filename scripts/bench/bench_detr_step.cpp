// Benchmark (not a test): one DETR training iteration of seer, split into
// phases, on a fixed batch of random images and deterministic boxes. The model
// and the optimizer are built from a config exactly as `seer train` builds them
// (resolve_config, the model table, seer::Optimizer with its parameter groups,
// clipping and autocast); the iteration is the trainer's: forward, loss
// (matching + set criterion), backward, clip + step + zero_grad.
// Driven by scripts/bench/bench_detr_step.py, which runs the official
// facebookresearch/detr step the same way and prints the ratios.
//
//   bench_detr_step --config configs/detr/detr_r50_coco.yaml [--set key=value]...
//                   [--batch 2] [--height 512] [--width 640] [--boxes 7]
//                   [--iters 10] [--warmup 2] [--threads N]
//
// Prints `<name> <value>` lines: the median ms of forward, loss, matcher (the
// Hungarian matching of every decoder layer, timed once more on its own, part
// of `loss`), backward, optimizer and the whole iteration, and peak_rss_mb
// (VmHWM of /proc/self/status: getrusage's ru_maxrss would carry the parent's
// peak over fork + exec).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/error.h"
#include "losses/set_target.h"
#include "losses/hungarian_matcher.h"
#include "models/detr/detr.h"
#include "train/amp.h"
#include "train/optimizer.h"
#include "cli/resolve.h"

namespace {

using seer::bench::Clock;
using seer::bench::median;
using seer::bench::ms_since;

// The same closed-form boxes as bench_detr_step.py: image b, box k.
seer::Target make_target(int64_t b, int64_t k_boxes, int64_t h, int64_t w, int64_t num_labels) {
  std::vector<float> xyxy;
  std::vector<int64_t> labels;
  for (int64_t k = 0; k < k_boxes; ++k) {
    const double cx = 0.1 + 0.8 * ((0.13 * k + 0.29 * b) - static_cast<int64_t>(0.13 * k + 0.29 * b));
    const double cy = 0.1 + 0.8 * ((0.37 * k + 0.11 * b) - static_cast<int64_t>(0.37 * k + 0.11 * b));
    const double bw = 0.05 + 0.03 * ((k + 2 * b) % 7), bh = 0.05 + 0.04 * ((2 * k + b) % 5);
    xyxy.insert(xyxy.end(), {static_cast<float>((cx - bw / 2) * w), static_cast<float>((cy - bh / 2) * h),
                             static_cast<float>((cx + bw / 2) * w), static_cast<float>((cy + bh / 2) * h)});
    labels.push_back((7 * k + 3 * b) % num_labels);
  }
  seer::Target t;
  t.boxes = torch::tensor(xyxy).reshape({k_boxes, 4});
  t.labels = torch::tensor(labels, torch::kLong);
  t.iscrowd = torch::zeros({k_boxes}, torch::kUInt8);
  t.area = (t.boxes.select(1, 2) - t.boxes.select(1, 0)) * (t.boxes.select(1, 3) - t.boxes.select(1, 1));
  t.size = t.orig_size = {h, w};
  t.image_id = b;
  return t;
}

// The peak resident set of this process in MiB (VmHWM), 0 when unknown.
double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return 0;
}

int run(int argc, char** argv) {
  std::string config;
  std::vector<std::string> sets;
  int64_t batch = 2, height = 512, width = 640, boxes = 7, iters = 10, warmup = 2, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw seer::ConfigError("bench_detr_step: " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--config") config = v;
    else if (a == "--set") sets.push_back(v);
    else if (a == "--batch") batch = std::stoll(v);
    else if (a == "--height") height = std::stoll(v);
    else if (a == "--width") width = std::stoll(v);
    else if (a == "--boxes") boxes = std::stoll(v);
    else if (a == "--iters") iters = std::stoll(v);
    else if (a == "--warmup") warmup = std::stoll(v);
    else if (a == "--threads") threads = std::stoll(v);
    else throw seer::ConfigError("bench_detr_step: unknown flag " + a);
  }
  if (config.empty()) throw seer::ConfigError("bench_detr_step: --config is required");
  if (threads > 0) torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);

  seer::ResolvedConfig r = seer::resolve_config(config, sets);
  if (!r.model) throw seer::ConfigError(config + ": no model section");
  // COCO-like category ids 1..90 (with label_space dataset_ids: 91 classes, as the official model).
  seer::CategoryTable cats;
  for (int64_t id = 1; id <= 90; ++id) cats.add(id, "c" + std::to_string(id));
  auto model = r.model->build(cats);
  auto detr = std::dynamic_pointer_cast<seer::Detr>(model);
  if (!detr) throw seer::ConfigError(config + ": model.type must be detr for this benchmark");
  model->train();
  seer::Optimizer optimizer(*model, r.optimizer);
  const seer::AmpMode amp = seer::parse_amp_mode(r.runtime.amp);
  const torch::Device device(torch::kCPU);

  seer::Batch b;
  b.images = torch::randn({batch, 3, height, width});
  b.pad_mask = torch::zeros({batch, height, width}, torch::kBool);
  for (int64_t i = 0; i < batch; ++i) b.targets.push_back(make_target(i, boxes, height, width, cats.size()));
  auto match_targets = seer::to_set_targets(b.targets);
  for (auto& t : match_targets) t.labels = detr->labels_to_classes(t.labels);

  std::map<std::string, std::vector<double>> ms;
  for (int64_t it = 0; it < warmup + iters; ++it) {
    auto t0 = Clock::now();
    seer::Detr::ForwardOutput out;
    torch::Tensor total;
    double t_forward = 0, t_loss = 0;
    {
      seer::AutocastGuard autocast(amp, device);
      out = detr->forward(b.images, b.pad_mask);
      t_forward = ms_since(t0);
      auto t1 = Clock::now();
      auto losses = detr->loss_from_outputs(out, b);
      for (const auto& item : losses) {
        item.value().detach().item<double>();  // as the trainer logs every term
        if (item.key().rfind("log/", 0) == 0) continue;
        total = total.defined() ? total + item.value() : item.value();
      }
      total.detach().item<double>();
      t_loss = ms_since(t1);
    }
    auto t2 = Clock::now();
    total.backward();
    const double t_backward = ms_since(t2);
    auto t3 = Clock::now();
    if (r.optimizer.clip_grad_norm > 0) optimizer.clip_grad_norm(r.optimizer.clip_grad_norm);
    optimizer.step();
    optimizer.zero_grad();
    const double t_opt = ms_since(t3);
    const double t_iter = ms_since(t0);
    // The matching alone, outside the timed iteration: every decoder layer.
    double t_match = 0;
    {
      torch::NoGradGuard no_grad;
      auto logits = out.logits.detach().to(torch::kFloat32), pred = out.boxes.detach().to(torch::kFloat32);
      auto t4 = Clock::now();
      // Group DETR (model.train_groups): every group matches the same targets.
      std::vector<seer::SetTarget> all;
      for (int64_t g = 0; g < logits.size(1) / batch; ++g) all.insert(all.end(), match_targets.begin(), match_targets.end());
      for (int64_t l = 0; l < logits.size(0); ++l)
        seer::hungarian_match(logits[l], pred[l], all, seer::matcher_options(detr->options().loss));
      t_match = ms_since(t4);
    }
    if (it < warmup) continue;
    ms["forward_ms"].push_back(t_forward);
    ms["loss_ms"].push_back(t_loss);
    ms["matcher_ms"].push_back(t_match);
    ms["backward_ms"].push_back(t_backward);
    ms["optimizer_ms"].push_back(t_opt);
    ms["iteration_ms"].push_back(t_iter);
  }
  std::printf("threads %d batch %lld size %lldx%lld iters %lld amp %s\n", torch::get_num_threads(),
              static_cast<long long>(batch), static_cast<long long>(height), static_cast<long long>(width),
              static_cast<long long>(iters), r.runtime.amp.c_str());
  for (const char* k : {"forward_ms", "loss_ms", "matcher_ms", "backward_ms", "optimizer_ms", "iteration_ms"})
    std::printf("%s %.2f\n", k, median(ms[k]));
  std::printf("peak_rss_mb %.1f\n", peak_rss_mb());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return seer::bench::guarded_main(run, argc, argv); }
