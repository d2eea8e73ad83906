#pragma once
// Reads tests/data/detr/*.pt (scripts/fixtures/make_detr_fixtures.py) and
// fills a model with the fixture's weights: every state_dict entry is a
// counter-based hash of its name (bit-exact twin of hashed_value() in the
// script), so the 45 MB of ResNet weights need not be stored.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include "models/detr/detr.h"
#include "test_util.h"

namespace seer::test {

inline constexpr const char* kDetrRef = "facebookresearch/detr@29901c51d7fe8712168b8d0d64351170bc0f83e0";

// A torch.save'd plain dict of tensors and strings.
class PtDict {
 public:
  explicit PtDict(const std::string& rel) : path_(fixture(rel)) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw std::runtime_error("missing fixture " + path_);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto dict = torch::pickle_load(bytes).toGenericDict();
    for (const auto& kv : dict) {
      if (kv.value().isString()) strings_[kv.key().toStringRef()] = kv.value().toStringRef();
      else tensors_[kv.key().toStringRef()] = kv.value().toTensor();
    }
  }
  bool has(const std::string& k) const { return tensors_.count(k) > 0; }
  torch::Tensor operator[](const std::string& k) const {
    auto it = tensors_.find(k);
    if (it == tensors_.end()) throw std::runtime_error("fixture " + path_ + " has no tensor '" + k + "'");
    return it->second;
  }
  const std::string& str(const std::string& k) const {
    auto it = strings_.find(k);
    if (it == strings_.end()) throw std::runtime_error("fixture " + path_ + " has no string '" + k + "'");
    return it->second;
  }
  const std::map<std::string, torch::Tensor>& tensors() const { return tensors_; }

 private:
  std::string path_;
  std::map<std::string, torch::Tensor> tensors_;
  std::map<std::string, std::string> strings_;
};

// "name\td0,d1\n" lines -> name -> shape.
inline std::map<std::string, std::vector<int64_t>> parse_names(const std::string& text) {
  std::map<std::string, std::vector<int64_t>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto tab = line.find('\t');
    std::vector<int64_t> shape;
    std::istringstream dims(line.substr(tab + 1));
    std::string d;
    while (std::getline(dims, d, ','))
      if (!d.empty()) shape.push_back(std::stoll(d));
    out[line.substr(0, tab)] = shape;
  }
  return out;
}

inline uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ULL;
  }
  return h;
}

// The fixture value of one state_dict entry (see make_detr_fixtures.py).
inline torch::Tensor hashed_value(const std::string& name, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  const uint64_t base = fnv1a64(name);
  const std::string leaf = name.substr(name.rfind('.') + 1);
  const bool embed = name.size() >= 18 && name.compare(name.size() - 18, 18, "query_embed.weight") == 0;
  const bool learned = name.find("row_embed") != std::string::npos || name.find("col_embed") != std::string::npos;
  auto out = torch::empty({n}, torch::kFloat);
  float* p = out.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = base + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    const double u = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
    const double s = 2.0 * u - 1.0;
    double v;
    if (leaf == "running_mean") v = 0.1 * s;
    else if (leaf == "running_var") v = 0.5 + u;
    else if (shape.size() == 1 && leaf == "weight") v = 0.75 + 0.5 * u;
    else if (shape.size() == 1) v = 0.1 * s;
    else {
      const int64_t fan_in = n / shape[0];
      double bound = std::sqrt(3.0 / static_cast<double>(fan_in));
      if (embed || learned) bound = 1.0;
      v = bound * s;
    }
    p[i] = static_cast<float>(v);
  }
  return out.reshape(shape);
}

// Our state (parameters + buffers) by name -> shape.
inline std::map<std::string, std::vector<int64_t>> state_shapes(const torch::nn::Module& m) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& kv : m.named_parameters()) out[kv.key()] = kv.value().sizes().vec();
  for (const auto& kv : m.named_buffers()) out[kv.key()] = kv.value().sizes().vec();
  return out;
}

// Lists names missing on our side, unexpected on our side, and shape mismatches.
inline std::string diff_names(const std::map<std::string, std::vector<int64_t>>& ours,
                              const std::map<std::string, std::vector<int64_t>>& official) {
  std::string out;
  for (const auto& [k, s] : official) {
    auto it = ours.find(k);
    if (it == ours.end()) out += "missing " + k + "\n";
    else if (it->second != s) out += "shape " + k + "\n";
  }
  for (const auto& [k, s] : ours)
    if (!official.count(k)) out += "unexpected " + k + "\n";
  return out;
}

// Copy the hashed fixture value into every parameter and buffer of `m`.
inline void load_hashed(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& kv : m.named_parameters()) kv.value().copy_(hashed_value(kv.key(), kv.value().sizes().vec()));
  for (auto& kv : m.named_buffers()) kv.value().copy_(hashed_value(kv.key(), kv.value().sizes().vec()));
}

// Max |got - want|; a shape mismatch is a test failure (and +inf), never reshaped away.
inline double max_abs_err(const torch::Tensor& got, const torch::Tensor& want) {
  if (got.sizes() != want.sizes()) {
    ADD_FAILURE() << "shape mismatch: got " << got.sizes() << ", want " << want.sizes();
    return std::numeric_limits<double>::infinity();
  }
  auto a = got.detach().to(torch::kDouble);
  auto b = want.detach().to(torch::kDouble);
  if (a.numel() == 0) return 0.0;
  return (a - b).abs().max().item<double>();
}

#define EXPECT_CLOSE(got, want, tol, what)                                       \
  do {                                                                           \
    double e_ = ::seer::test::max_abs_err((got), (want));                        \
    std::cout << "[parity] " << (what) << ": " << e_ << std::endl;               \
    EXPECT_LE(e_, (tol)) << (what);                                              \
  } while (0)

// A tiny DETR (ResNet-18, width 32, 1 encoder + 2 decoder layers, 4 queries)
// The ResNet of the tiny test DETR: ResNet-18, otherwise the defaults.
inline ResNetOptions tiny_resnet_options() {
  ResNetOptions r;
  r.depth = 18;
  return r;
}

// for unit tests; num_classes -1 = from the category table.
inline DetrOptions tiny_detr_options(int64_t num_classes = -1) {
  DetrOptions o;
  o.num_classes = num_classes;
  o.num_queries = 4;
  o.backbone = resnet_backbone(tiny_resnet_options());
  o.transformer.d_model = 32;
  o.transformer.nhead = 2;
  o.transformer.num_encoder_layers = 1;
  o.transformer.num_decoder_layers = 2;
  o.transformer.dim_feedforward = 32;
  o.transformer.dropout = 0.0;
  return o;
}

}  // namespace seer::test
