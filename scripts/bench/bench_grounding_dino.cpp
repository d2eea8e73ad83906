// Benchmark (not a test): seer's Grounding DINO, driven by
// scripts/bench/bench_grounding_dino.py, which runs the official Python code
// on the same weights and inputs in between and prints the ratios.
//
//   bench_grounding_dino infer  --config C --weights W.pth --inputs I.pth --caption TEXT
//                               [--runs 2] [--warmup 1] [--profile-runs 1] [--out O.pth]
//                               [--selection OFFICIAL.pth]
//   bench_grounding_dino extras ... [--runs 2] [--warmup 1] [--batch-reps 1]
//   bench_grounding_dino train  ... [--iters 2] [--warmup 1] [--selection OFFICIAL.pth] [--same-caption]
//   common: [--set key=value]... [--threads N] [--amp off|bf16]
//
// W.pth: an official state_dict (loaded strictly, as `--weights` does); I.pth:
// the driver's inputs (infer/0..3 and batch/0..3 [1, 3, H, W] images, train/images [2, 3, h, w],
// train/boxes/b cxcywh normalised, train/labels/b, train/meta_json: the captions
// and their phrase lists as UTF-8 bytes).
//
// infer:  the forward as the official model runs it (tokenize, BERT, Swin,
//         feature enhancer, query selection, decoder, heads; no text cache) on
//         infer/0, median ms of --runs after --warmup; then --profile-runs of a
//         copy of GroundingDino::forward with a timer between stages (the copy's
//         outputs are checked against the library's); --out writes pred_logits,
//         pred_boxes and topk_index of the last run as a .pth; --selection
//         (the official pred_logits, pred_boxes, topk_index) runs once more,
//         untimed, with the official query selection and compares the outputs.
// extras: fp32 and bf16-autocast forward; predict() of image A then image B with
//         one prompt (infer/0, infer/1; the second hits the text cache);
//         predict() of 4 images (batch/0..3) in one batch against 4 single
//         calls (text cached in both).
// train:  forward (tokenize + encode_text + forward), loss (positive maps, the
//         set criterion over every decoder layer and the encoder proposals,
//         .item() of the total), backward, optimizer (clip + AdamW step +
//         zero_grad), with the config's optimizer groups, freeze and clipping;
//         --selection gives the first iteration the official query selection
//         (the driver's --check-loss).
// Prints one line `RESULT {json}`; peak memory as VmHWM and ru_maxrss (MiB).
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bench_common.h"
#include "cli/resolve.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "losses/set_target.h"
#include "models/grounding_dino/grounding_dino.h"
#include "models/transformers/deformable_layers.h"
#include "ops/norm.h"
#include "train/amp.h"
#include "train/model_io.h"
#include "train/optimizer.h"

namespace {

using seer::GroundingDino;
using seer::bench::Clock;
using seer::bench::median;
using seer::bench::ms_since;
using json = nlohmann::json;
namespace F = torch::nn::functional;

struct Args {
  std::string mode, config, weights, inputs, caption, out, selection, amp = "off";
  std::vector<std::string> sets;
  int64_t runs = 2, warmup = 1, profile_runs = 1, batch_reps = 1, iters = 2, threads = 0;
  bool same_caption = false;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw seer::ConfigError("usage: bench_grounding_dino infer|extras|train --config C --weights W ...");
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--same-caption") {
      a.same_caption = true;
      continue;
    }
    if (i + 1 >= argc) throw seer::ConfigError("bench_grounding_dino: " + k + " needs a value");
    const std::string v = argv[++i];
    if (k == "--config") a.config = v;
    else if (k == "--weights") a.weights = v;
    else if (k == "--inputs") a.inputs = v;
    else if (k == "--caption") a.caption = v;
    else if (k == "--out") a.out = v;
    else if (k == "--selection") a.selection = v;
    else if (k == "--amp") a.amp = v;
    else if (k == "--set") a.sets.push_back(v);
    else if (k == "--runs") a.runs = std::stoll(v);
    else if (k == "--warmup") a.warmup = std::stoll(v);
    else if (k == "--profile-runs") a.profile_runs = std::stoll(v);
    else if (k == "--batch-reps") a.batch_reps = std::stoll(v);
    else if (k == "--iters") a.iters = std::stoll(v);
    else if (k == "--threads") a.threads = std::stoll(v);
    else throw seer::ConfigError("bench_grounding_dino: unknown flag " + k);
  }
  if (a.config.empty() || a.weights.empty() || a.inputs.empty())
    throw seer::ConfigError("bench_grounding_dino: --config, --weights and --inputs are required");
  return a;
}

void add_peak_rss(json& j) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) j["vmhwm_mb"] = std::stod(line.substr(6)) / 1024.0;  // kB
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  j["ru_maxrss_mb"] = static_cast<double>(u.ru_maxrss) / 1024.0;
}

// CPU time of this process (user + system) in ms: less disturbed than wall time
// when other work takes the cores.
double cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

struct Setup {
  seer::ResolvedConfig config;
  std::shared_ptr<GroundingDino> model;
  seer::StateDict inputs;
};

Setup setup(const Args& a) {
  if (a.threads > 0) torch::set_num_threads(static_cast<int>(a.threads));
  torch::manual_seed(0);
  Setup s{seer::resolve_config(a.config, a.sets), nullptr, seer::StateDict()};
  if (!s.config.model) throw seer::ConfigError(a.config + ": no model section");
  s.model = std::dynamic_pointer_cast<GroundingDino>(s.config.model->build(seer::CategoryTable{}));
  if (!s.model) throw seer::ConfigError(a.config + ": model.type must be grounding_dino");
  seer::load_model_weights(*s.model, a.weights, /*strict=*/true);
  s.inputs = seer::read_weights(a.inputs).tensors;
  return s;
}

torch::Tensor input(const Setup& s, const std::string& key) {
  const torch::Tensor* t = s.inputs.find(key);
  if (!t) throw seer::RuntimeError("inputs: no tensor '" + key + "'");
  return t->contiguous();
}

// ------------------------------------------------------------ the timed copy of forward
// GroundingDino::forward (batch of one caption per image) with a lap timer
// between stages, built from the model's public members. Stage names follow
// the official module boundaries the driver hooks.
torch::Tensor contrastive_logits(const torch::Tensor& x, const torch::Tensor& text, const torch::Tensor& token_mask,
                                 int64_t max_len) {
  auto res = torch::matmul(x, text.transpose(-1, -2));
  res = res.masked_fill(token_mask.logical_not().unsqueeze(1), -std::numeric_limits<double>::infinity());
  auto out = torch::full({res.size(0), res.size(1), max_len}, -std::numeric_limits<double>::infinity(), res.options());
  out.narrow(-1, 0, res.size(-1)).copy_(res);
  return out;
}

torch::Tensor interpolate_mask(const torch::Tensor& mask, int64_t h, int64_t w) {
  return F::interpolate(mask.unsqueeze(0).to(torch::kFloat),
                        F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kNearest))
      .to(torch::kBool)[0];
}

torch::Tensor run_input_proj(torch::nn::ModuleList& list, size_t l, const torch::Tensor& x) {
  auto seq = list[l]->as<torch::nn::SequentialImpl>();
  auto y = seq->ptr(0)->as<torch::nn::Conv2dImpl>()->forward(x);
  auto gn = seq->ptr(1)->as<torch::nn::GroupNormImpl>();
  return gn->forward(y.to(gn->weight.scalar_type()));
}

GroundingDino::ForwardOutput timed_forward(GroundingDino& m, const torch::Tensor& images, const torch::Tensor& mask,
                                           const std::string& caption, std::map<std::string, double>& st) {
  using seer::apply_norm;
  auto t = Clock::now();
  auto lap = [&](const char* k) {
    st[k] += ms_since(t);
    t = Clock::now();
  };
  const auto& o = m.options();
  const int64_t B = images.size(0), D = o.hidden_dim, T_max = o.max_text_len;
  auto text = m.encode_text(m.tokenize({caption}));
  lap("bert");
  auto feats = m.body->forward_features(images);
  lap("backbone");
  std::vector<torch::Tensor> srcs, masks, pos;
  // input_proj: the convs + GroupNorm (input_proj/conv_gn), the masks and the
  // sine position embeddings (input_proj/mask_pos; the official code computes
  // those inside the backbone Joiner)
  for (size_t l = 0; l < feats.size(); ++l) {
    srcs.push_back(run_input_proj(m.input_proj, l, feats[l]));
    lap("input_proj/conv_gn");
    auto mk = interpolate_mask(mask, feats[l].size(2), feats[l].size(3));
    masks.push_back(mk);
    pos.push_back(m.position_embedding->forward(mk).to(feats[l].dtype()));
    lap("input_proj/mask_pos");
  }
  for (int64_t l = static_cast<int64_t>(feats.size()); l < o.num_feature_levels; ++l) {
    auto in = l == static_cast<int64_t>(feats.size()) ? feats.back() : srcs.back();
    auto src = run_input_proj(m.input_proj, static_cast<size_t>(l), in);
    lap("input_proj/conv_gn");
    auto mk = interpolate_mask(mask, src.size(2), src.size(3));
    srcs.push_back(src);
    masks.push_back(mk);
    pos.push_back(m.position_embedding->forward(mk).to(src.dtype()));
    lap("input_proj/mask_pos");
  }
  auto in = seer::flatten_levels(masks);
  std::vector<torch::Tensor> src_flat, pos_flat;
  for (size_t l = 0; l < srcs.size(); ++l) {
    src_flat.push_back(srcs[l].flatten(2).transpose(1, 2));
    pos_flat.push_back(pos[l].flatten(2).transpose(1, 2) + m.level_embed[static_cast<int64_t>(l)].view({1, 1, -1}));
  }
  auto memory = torch::cat(src_flat, 1);
  auto lvl_pos = torch::cat(pos_flat, 1).to(memory.dtype());
  const int64_t S = memory.size(1);
  auto memory_text = text.encoded;
  const auto text_padding = text.token_mask.logical_not();
  const auto text_blocked = text.self_attention_mask.logical_not();
  auto pos_text = seer::scalar_sine_embedding(text.position_ids.unsqueeze(-1), D).to(memory_text.dtype());
  auto ref_enc = seer::encoder_reference_points(in).to(memory.dtype());
  lap("query_selection/prepare");  // the official transformer's input preparation
  for (size_t i = 0; i < m.encoder_layers.size(); ++i) {
    std::tie(memory, memory_text) = m.fusion_layers[i]->forward(memory, memory_text, in.padding_mask, text_padding);
    lap("enc_fusion");
    memory_text = m.text_layers[i]->forward(memory_text, pos_text, text_blocked);
    lap("enc_text");
    memory = m.encoder_layers[i]->forward(memory, lvl_pos, ref_enc, in);
    lap("enc_deformable");
  }
  auto [out_memory, proposals] = seer::encoder_output_proposals(memory, in);
  out_memory = apply_norm(m.enc_output_norm, m.enc_output->forward(out_memory));
  auto enc_logits = contrastive_logits(out_memory, memory_text, text.token_mask, T_max);
  const int64_t Q = std::min(o.num_queries, S);
  auto topk = std::get<1>(std::get<0>(enc_logits.max(-1)).topk(Q, 1));
  auto enc_coord = m.enc_out_bbox_embed->forward(out_memory) + proposals.to(out_memory.dtype());
  auto gather = [&](const torch::Tensor& x) { return x.gather(1, topk.unsqueeze(-1).expand({B, Q, x.size(-1)})); };
  auto ref_undetached = gather(enc_coord);
  auto hs_enc = gather(out_memory);
  GroundingDino::ForwardOutput out;
  out.topk_index = topk;
  out.interm_logits = contrastive_logits(hs_enc, memory_text, text.token_mask, T_max);
  out.interm_boxes = ref_undetached.sigmoid();
  auto tgt = m.tgt_embed->weight.narrow(0, 0, Q).unsqueeze(0).expand({B, Q, D}).to(memory.dtype());
  lap("query_selection");
  auto ref = ref_undetached.detach().sigmoid();
  auto vr = torch::cat({in.valid_ratios, in.valid_ratios}, -1).to(ref.dtype());
  std::vector<torch::Tensor> refs{ref}, hs;
  auto output = tgt;
  for (size_t l = 0; l < m.decoder_layers.size(); ++l) {
    auto ref_in = ref.unsqueeze(2) * vr.unsqueeze(1);
    auto query_pos = m.ref_point_head->forward(seer::box_sine_embedding(ref_in.select(2, 0), D / 2).to(output.dtype()));
    output = m.decoder_layers[l]->forward(output, query_pos, ref_in, memory, in, memory_text, text_padding);
    auto new_ref = (m.bbox_embed->forward(output) + seer::inverse_sigmoid(ref)).sigmoid();
    refs.push_back(new_ref);
    ref = new_ref.detach();
    hs.push_back(apply_norm(m.decoder_norm, output));
  }
  lap("decoder");
  std::vector<torch::Tensor> boxes, logits;
  for (size_t l = 0; l < hs.size(); ++l) {
    boxes.push_back((m.bbox_embed->forward(hs[l]) + seer::inverse_sigmoid(refs[l])).sigmoid());
    logits.push_back(contrastive_logits(hs[l], memory_text, text.token_mask, T_max));
  }
  out.boxes = torch::stack(boxes);
  out.logits = torch::stack(logits);
  lap("other");  // the heads
  return out;
}

// The library's forward, as the official model runs it: no text cache.
GroundingDino::ForwardOutput full_forward(GroundingDino& m, const torch::Tensor& images, const torch::Tensor& mask,
                                          const std::string& caption) {
  auto text = m.encode_text(m.tokenize({caption}));
  return m.forward(images, mask, text);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  auto fin = torch::isfinite(a) & torch::isfinite(b);
  if (!fin.any().item<bool>()) return 0;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).masked_select(fin).abs().max().item<double>();
}

seer::Batch predict_batch(const std::vector<torch::Tensor>& images, const std::string& caption) {
  seer::Batch b;
  b.images = torch::cat(images);
  b.pad_mask = torch::zeros({b.images.size(0), b.images.size(2), b.images.size(3)}, torch::kBool);
  for (size_t i = 0; i < images.size(); ++i) {
    seer::Target t;
    t.caption = caption;
    t.size = t.orig_size = {b.images.size(2), b.images.size(3)};
    t.image_id = static_cast<int64_t>(i);
    b.targets.push_back(t);
  }
  return b;
}

// ------------------------------------------------------------ modes
int run_infer(const Args& a) {
  Setup s = setup(a);
  auto& m = *s.model;
  m.eval();
  torch::NoGradGuard ng;
  const seer::AmpMode amp = seer::parse_amp_mode(a.amp);
  auto image = input(s, "infer/0");
  auto mask = torch::zeros({1, image.size(2), image.size(3)}, torch::kBool);
  std::vector<double> ms;
  GroundingDino::ForwardOutput out;
  for (int64_t i = 0; i < a.warmup + a.runs; ++i) {
    auto t0 = Clock::now();
    {
      seer::AutocastGuard ag(amp, torch::kCPU);
      out = full_forward(m, image, mask, a.caption);
    }
    const double t = ms_since(t0);
    if (i >= a.warmup) ms.push_back(t);
  }
  json j;
  j["forward_ms"] = ms;
  j["threads"] = torch::get_num_threads();
  // stages: the timed copy
  std::vector<std::map<std::string, double>> runs;
  double copy_diff = -1;
  for (int64_t i = 0; i < a.profile_runs; ++i) {
    std::map<std::string, double> st;
    seer::AutocastGuard ag(amp, torch::kCPU);
    auto c = timed_forward(m, image, mask, a.caption, st);
    copy_diff = std::max({copy_diff, max_diff(c.logits, out.logits), max_diff(c.boxes, out.boxes)});
    if (!torch::equal(c.topk_index, out.topk_index)) copy_diff = std::numeric_limits<double>::infinity();
    runs.push_back(st);
  }
  json stages;
  if (!runs.empty())
    for (const auto& kv : runs[0]) {
      std::vector<double> v;
      for (const auto& r : runs) v.push_back(r.at(kv.first));
      stages[kv.first] = median(v);
    }
  j["stages"] = stages;
  j["profile_copy_max_diff"] = copy_diff;
  if (!a.out.empty()) {
    const int64_t L = out.logits.size(0);
    seer::StateDict sd;
    sd.insert("pred_logits", out.logits[L - 1].to(torch::kFloat).contiguous());
    sd.insert("pred_boxes", out.boxes[L - 1].to(torch::kFloat).contiguous());
    sd.insert("topk_index", out.topk_index.contiguous());
    seer::write_pth(a.out, sd);
  }
  if (!a.selection.empty()) {
    // one more forward (float32, untimed) with the official query selection:
    // scores that tie exactly may come out of topk in another order
    auto official = seer::read_weights(a.selection).tensors;
    auto ref_logits = official["pred_logits"], ref_boxes = official["pred_boxes"];
    auto o = m.forward(image, mask, m.encode_text(m.tokenize({a.caption})), official["topk_index"]);
    const int64_t L = o.logits.size(0);
    auto logits = o.logits[L - 1], boxes = o.boxes[L - 1];
    const int64_t T = o.text_mask.sum().item<int64_t>();
    auto fin = torch::isfinite(ref_logits);
    json c;
    c["pred_logits_max_abs_diff"] = max_diff(logits.narrow(-1, 0, T), ref_logits.narrow(-1, 0, T));
    c["pred_logits_max_abs"] = ref_logits.narrow(-1, 0, T).abs().max().item<double>();
    c["pred_boxes_max_abs_diff"] = max_diff(boxes, ref_boxes);
    c["same_inf_padding"] = torch::equal(fin, torch::isfinite(logits)) &&
                            torch::equal(ref_logits.masked_select(~fin), logits.masked_select(~fin));
    c["num_text_tokens"] = T;
    j["compare"] = c;
  }
  add_peak_rss(j);
  std::printf("RESULT %s\n", j.dump().c_str());
  return 0;
}

int run_extras(const Args& a) {
  Setup s = setup(a);
  auto& m = *s.model;
  m.eval();
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> images, small;
  for (int i = 0; i < 2; ++i) images.push_back(input(s, "infer/" + std::to_string(i)));
  for (int i = 0; i < 4; ++i) small.push_back(input(s, "batch/" + std::to_string(i)));
  auto mask = torch::zeros({1, images[0].size(2), images[0].size(3)}, torch::kBool);
  json j;
  // fp32 and bf16 autocast forward
  GroundingDino::ForwardOutput f32, b16;
  for (const auto mode : {seer::AmpMode::Off, seer::AmpMode::BF16}) {
    std::vector<double> ms;
    for (int64_t i = 0; i < a.warmup + a.runs; ++i) {
      auto t0 = Clock::now();
      seer::AutocastGuard ag(mode, torch::kCPU);
      (mode == seer::AmpMode::Off ? f32 : b16) = full_forward(m, images[0], mask, a.caption);
      if (i >= a.warmup) ms.push_back(ms_since(t0));
    }
    j[mode == seer::AmpMode::Off ? "fp32_ms" : "bf16_ms"] = median(ms);
    j[mode == seer::AmpMode::Off ? "fp32_runs_ms" : "bf16_runs_ms"] = ms;
  }
  {
    const int64_t L = f32.logits.size(0);
    const int64_t T = f32.text_mask.sum().item<int64_t>();
    auto top_a = f32.logits[L - 1].narrow(-1, 0, T).argmax(-1);
    auto top_b = b16.logits[L - 1].to(torch::kFloat).narrow(-1, 0, T).argmax(-1);
    j["bf16_box_diff"] = max_diff(f32.boxes[L - 1], b16.boxes[L - 1].to(torch::kFloat));
    j["bf16_same_top_token"] = top_a.eq(top_b).to(torch::kDouble).mean().item<double>();
    j["bf16_same_query_selection"] = torch::equal(f32.topk_index, b16.topk_index);
  }
  // encode_text alone
  {
    std::vector<double> ms, cpu;
    for (int64_t i = 0; i < 4; ++i) {
      auto t0 = Clock::now();
      const double c0 = cpu_ms();
      m.encode_text(m.tokenize({a.caption}));
      if (i > 0) ms.push_back(ms_since(t0));
      if (i > 0) cpu.push_back(cpu_ms() - c0);
    }
    j["encode_text_ms"] = median(ms);
    j["encode_text_cpu_ms"] = median(cpu);
  }
  // predict on image A, then image B with the same prompt: the text cache
  {
    auto batch_a = predict_batch({images[0]}, a.caption), batch_b = predict_batch({images[1]}, a.caption);
    std::vector<double> first, second, first_cpu, second_cpu, hits;
    for (int64_t i = 0; i < a.runs; ++i) {
      m.clear_text_cache();
      const int64_t h0 = m.text_cache_hits();
      auto t0 = Clock::now();
      double c0 = cpu_ms();
      m.predict(batch_a);
      first.push_back(ms_since(t0));
      first_cpu.push_back(cpu_ms() - c0);
      auto t1 = Clock::now();
      c0 = cpu_ms();
      m.predict(batch_b);
      second.push_back(ms_since(t1));
      second_cpu.push_back(cpu_ms() - c0);
      hits.push_back(static_cast<double>(m.text_cache_hits() - h0));
    }
    j["predict_first_ms"] = median(first);
    j["predict_second_ms"] = median(second);
    j["predict_first_cpu_ms"] = median(first_cpu);
    j["predict_second_cpu_ms"] = median(second_cpu);
    j["predict_first_runs_ms"] = first;
    j["predict_second_runs_ms"] = second;
    j["cache_hits_per_pair"] = median(hits);
  }
  // 4 images in one predict() against 4 predict() calls (text cached in both)
  {
    auto batch4 = predict_batch(small, a.caption);
    std::vector<seer::Batch> singles;
    for (const auto& im : small) singles.push_back(predict_batch({im}, a.caption));
    std::vector<double> batched, single;
    for (int64_t i = 0; i < a.batch_reps; ++i) {
      auto t0 = Clock::now();
      auto preds = m.predict(batch4);
      batched.push_back(ms_since(t0));
      auto t1 = Clock::now();
      for (const auto& b : singles) m.predict(b);
      single.push_back(ms_since(t1));
    }
    j["batch4_ms"] = median(batched);
    j["single4_ms"] = median(single);
    j["batch4_runs_ms"] = batched;
    j["single4_runs_ms"] = single;
  }
  j["threads"] = torch::get_num_threads();
  add_peak_rss(j);
  std::printf("RESULT %s\n", j.dump().c_str());
  return 0;
}

int run_train(const Args& a) {
  Setup s = setup(a);
  auto& m = *s.model;
  m.train();
  seer::Optimizer optimizer(m, s.config.optimizer);
  const seer::AmpMode amp = seer::parse_amp_mode(a.amp);
  auto images = input(s, "train/images");
  const int64_t B = images.size(0), H = images.size(2), W = images.size(3);
  auto meta_bytes = input(s, "train/meta_json").to(torch::kUInt8);
  const json meta = json::parse(std::string(reinterpret_cast<const char*>(meta_bytes.data_ptr<uint8_t>()),
                                            static_cast<size_t>(meta_bytes.numel())));
  seer::Batch batch;
  batch.images = images;
  batch.pad_mask = torch::zeros({B, H, W}, torch::kBool);
  std::vector<std::string> captions;
  std::vector<std::vector<std::vector<seer::Span>>> spans(B);
  for (int64_t b = 0; b < B; ++b) {
    seer::Target t;
    const int64_t c = a.same_caption ? 0 : b;  // --same-caption: caption 0 (and its phrases) for every image
    t.caption = meta["captions"][c].get<std::string>();
    auto cxcywh = input(s, "train/boxes/" + std::to_string(b)).to(torch::kFloat);
    auto labels = input(s, "train/labels/" + std::to_string(b)).to(torch::kLong);
    auto scale = torch::tensor({static_cast<float>(W), static_cast<float>(H), static_cast<float>(W), static_cast<float>(H)});
    auto xy = cxcywh.unbind(1);
    t.boxes = torch::stack({xy[0] - xy[2] / 2, xy[1] - xy[3] / 2, xy[0] + xy[2] / 2, xy[1] + xy[3] / 2}, 1) * scale;
    t.labels = labels;
    t.iscrowd = torch::zeros({labels.size(0)}, torch::kUInt8);
    t.size = t.orig_size = {H, W};
    t.image_id = b;
    // a box's tokens: its phrase (cat_list[label]) where it first occurs in the caption
    for (int64_t k = 0; k < labels.size(0); ++k) {
      const auto name = meta["cat_lists"][c][labels[k].item<int64_t>()].get<std::string>();
      const auto at = static_cast<int64_t>(t.caption.find(name));
      if (at < 0) throw seer::RuntimeError("phrase '" + name + "' is not in its caption");
      t.tokens_positive.push_back({{at, at + static_cast<int64_t>(name.size())}});
    }
    spans[b] = t.tokens_positive;
    captions.push_back(t.caption);
    batch.targets.push_back(t);
  }
  // --selection: the official query selection of the first iteration (loss check)
  torch::Tensor first_selection;
  seer::StateDict official;
  if (!a.selection.empty()) {
    official = seer::read_weights(a.selection).tensors;
    first_selection = official["topk_index"];
  }
  json compare, terms;
  std::map<std::string, std::vector<double>> ms;
  std::vector<double> loss_values;
  for (int64_t it = 0; it < a.warmup + a.iters; ++it) {
    auto t0 = Clock::now();
    double t_forward = 0, t_loss = 0;
    torch::Tensor total;
    {
      seer::AutocastGuard ag(amp, torch::kCPU);
      auto inputs = m.tokenize(captions);
      auto text = m.encode_text(inputs);
      auto out = m.forward(batch.images, batch.pad_mask, text, it == 0 ? first_selection : torch::Tensor());
      t_forward = ms_since(t0);
      auto t1 = Clock::now();
      std::vector<seer::SetTarget> targets;
      for (int64_t b = 0; b < B; ++b) {
        auto pm = seer::gdino::positive_map(inputs.encodings[b], spans[b], m.options().max_text_len, /*normalise=*/false);
        targets.push_back(seer::to_set_target(batch.targets[b], pm));
      }
      if (it == 0 && official.contains("pred_logits")) {
        const int64_t L = out.logits.size(0);
        compare["pred_logits"] = max_diff(out.logits[L - 1].detach(), official["pred_logits"]);
        compare["pred_boxes"] = max_diff(out.boxes[L - 1].detach(), official["pred_boxes"]);
        compare["interm_logits"] = max_diff(out.interm_logits.detach(), official["interm_logits"]);
        compare["interm_boxes"] = max_diff(out.interm_boxes.detach(), official["interm_boxes"]);
      }
      auto losses = m.loss_from_outputs(out, targets);
      if (it == 0)
        for (const auto& item : losses) terms[item.key()] = item.value().detach().item<double>();
      for (const auto& item : losses) {
        if (item.key().rfind("log/", 0) == 0) continue;
        total = total.defined() ? total + item.value() : item.value();
      }
      loss_values.push_back(total.detach().item<double>());
      t_loss = ms_since(t1);
    }
    auto t2 = Clock::now();
    total.backward();
    const double t_backward = ms_since(t2);
    auto t3 = Clock::now();
    if (s.config.optimizer.clip_grad_norm > 0) optimizer.clip_grad_norm(s.config.optimizer.clip_grad_norm);
    optimizer.step();
    optimizer.zero_grad();
    const double t_opt = ms_since(t3);
    const double t_iter = ms_since(t0);
    if (it < a.warmup) continue;
    ms["forward_ms"].push_back(t_forward);
    ms["loss_ms"].push_back(t_loss);
    ms["backward_ms"].push_back(t_backward);
    ms["optimizer_ms"].push_back(t_opt);
    ms["iteration_ms"].push_back(t_iter);
  }
  json j;
  for (const auto& kv : ms) j[kv.first] = kv.second;
  j["loss"] = loss_values;
  if (!compare.is_null()) j["compare"] = compare;
  if (!a.selection.empty()) j["terms"] = terms;
  j["threads"] = torch::get_num_threads();
  j["amp"] = a.amp;
  add_peak_rss(j);
  std::printf("RESULT %s\n", j.dump().c_str());
  return 0;
}

int run(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.mode == "infer") return run_infer(a);
  if (a.mode == "extras") return run_extras(a);
  if (a.mode == "train") return run_train(a);
  throw seer::ConfigError("bench_grounding_dino: mode must be infer, extras or train, got '" + a.mode + "'");
}

}  // namespace

int main(int argc, char** argv) { return seer::bench::guarded_main(run, argc, argv); }
