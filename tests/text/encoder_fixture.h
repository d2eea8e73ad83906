#pragma once
// Reads the text-encoder parity fixtures of tests/data/text_encoders/ (written by
// scripts/fixtures/make_text_encoder_fixtures.py) and rebuilds the formula
// weights of the real-size fixtures, which are not committed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <unordered_map>

#include "core/error.h"
#include "pt_fixture.h"
#include "test_util.h"
#include "text/encoder_weights.h"

namespace seer::test {

inline constexpr const char* kBertRef = "huggingface/pytorch-pretrained-BERT v0.6.1 (f3e5404) modeling.py";
inline constexpr const char* kClipRef = "openai/CLIP d05afc43 clip/model.py";

class EncoderFixture {
 public:
  explicit EncoderFixture(const std::string& name)
      : path_(fixture("text_encoders/" + name)), map_(load_tensor_dict(path_)) {}
  torch::Tensor operator[](const std::string& k) const {
    auto it = map_.find(k);
    if (it == map_.end()) throw std::runtime_error("fixture " + path_ + " has no key '" + k + "'");
    return it->second;
  }
  // Entries whose key starts with `prefix`, with the prefix removed.
  text::StateDict with_prefix(const std::string& prefix) const {
    text::StateDict out;
    for (const auto& kv : map_)
      if (kv.first.compare(0, prefix.size(), prefix) == 0) out[kv.first.substr(prefix.size())] = kv.second;
    return out;
  }

 private:
  std::string path_;
  std::unordered_map<std::string, torch::Tensor> map_;
};

// Max |got - want|; a shape mismatch is a test failure (and +inf), never reshaped away.
inline double encoder_max_err(const torch::Tensor& got, const torch::Tensor& want) {
  if (got.sizes() != want.sizes()) {
    ADD_FAILURE() << "shape mismatch: got " << got.sizes() << ", want " << want.sizes();
    return std::numeric_limits<double>::infinity();
  }
  return (got.detach().to(torch::kDouble) - want.detach().to(torch::kDouble))
      .abs()
      .max()
      .item<double>();
}

#define EXPECT_CLOSE(got, want, tol, what)                                        \
  do {                                                                            \
    ASSERT_EQ((got).sizes(), (want).sizes()) << (what);                           \
    double e_ = ::seer::test::encoder_max_err((got), (want));                     \
    std::cout << "[parity] " << (what) << ": max abs err " << e_ << std::endl;   \
    EXPECT_LE(e_, (tol)) << (what);                                               \
  } while (0)

// The generator's formula_weight(): value[j] = amp * sin(a * j + phase), j the
// flat index, a = 0.7 + 1e-4 h, phase = 0.01 h, h = a hash of the name; float64,
// then float32. LayerNorm scales are 1 + 0.1 sin, biases 0.02 sin,
// text_projection sin / sqrt(rows), everything else 0.03 sin.
inline torch::Tensor formula_weight(const std::string& name, at::IntArrayRef shape) {
  int64_t h = 0;
  for (size_t i = 0; i < name.size(); ++i) h += static_cast<int64_t>(i + 1) * static_cast<unsigned char>(name[i]);
  h %= 9973;
  int64_t n = 1;
  for (auto s : shape) n *= s;
  auto j = torch::arange(n, torch::kDouble);
  auto s = torch::sin(j * (0.7 + 0.0001 * static_cast<double>(h)) + 0.01 * static_cast<double>(h));
  auto ends = [&](const std::string& suf) {
    return name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  const bool is_norm = name.find("LayerNorm") != std::string::npos || name.find(".ln_") != std::string::npos ||
                       name.compare(0, 3, "ln_") == 0;
  torch::Tensor v;
  if (is_norm && ends("weight")) v = 1.0 + 0.1 * s;
  else if (ends("bias")) v = 0.02 * s;
  else if (name == "text_projection") v = s / std::sqrt(static_cast<double>(shape[0]));
  else v = 0.03 * s;
  return v.to(torch::kFloat).reshape(shape);
}

inline text::StateDict formula_state(torch::nn::Module& m) {
  text::StateDict sd;
  for (const auto& kv : m.named_parameters()) sd[kv.key()] = formula_weight(kv.key(), kv.value().sizes());
  return sd;
}

}  // namespace seer::test

// `stmt` throws a seer::RuntimeError whose one-line message contains `needle`.
#define EXPECT_SEER_ERROR(stmt, needle)                                         \
  do {                                                                          \
    try {                                                                       \
      stmt;                                                                     \
      ADD_FAILURE() << "no error from " #stmt;                                  \
    } catch (const seer::RuntimeError& e_) {                                    \
      std::string m_ = e_.what();                                               \
      EXPECT_EQ(m_.find('\n'), std::string::npos) << m_;                        \
      EXPECT_NE(m_.find(needle), std::string::npos) << m_;                      \
    }                                                                           \
  } while (0)
