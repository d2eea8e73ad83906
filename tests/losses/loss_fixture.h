#pragma once
// Reads the parity fixtures of tests/data/losses/ (written by
// scripts/fixtures/make_loss_fixtures.py: torch.save of a plain dict of
// tensors) and compares tensors with a printed max error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <unordered_map>

#include "pt_fixture.h"
#include "test_util.h"

namespace seer::test {

// Reference commits the fixtures were generated from.
inline constexpr const char* kDetrCommit = "facebookresearch/detr@29901c51d7fe8712168b8d0d64351170bc0f83e0";
inline constexpr const char* kDeformableCommit =
    "fundamentalvision/Deformable-DETR@11169a60c33333af00a4849f1808023eba96a931";
inline constexpr const char* kGdinoCommit = "longzw1997/Open-GroundingDino@d248268ac9cab808d4aa2691f4a76972ec5d9ab4";
inline constexpr const char* kAslCommit = "Alibaba-MIIL/ASL@8c9e0bd8d5d450cf19093363fc08aa7244ad4408";
inline constexpr const char* kMmyoloCommit = "open-mmlab/mmyolo@8c4d9dc503dc8e327bec8147e8dc97124052f693";
inline constexpr const char* kMmdetCommit = "open-mmlab/mmdetection@030b5682a4fc5bfe7fda1b0c6fb6e896f33b61dc";
inline constexpr const char* kTorchvision = "torchvision.ops 0.14.1 (Debian python3-torchvision)";
inline constexpr const char* kScipy = "scipy.optimize.linear_sum_assignment 1.10.1 (Debian python3-scipy)";

class LossFixture {
 public:
  explicit LossFixture(const std::string& name) : path_(fixture("losses/" + name)), map_(load_tensor_dict(path_)) {}
  bool has(const std::string& k) const { return map_.count(k) > 0; }
  torch::Tensor operator[](const std::string& k) const {
    auto it = map_.find(k);
    if (it == map_.end()) throw std::runtime_error("fixture " + path_ + " has no key '" + k + "'");
    return it->second;
  }
  const std::unordered_map<std::string, torch::Tensor>& all() const { return map_; }

 private:
  std::string path_;
  std::unordered_map<std::string, torch::Tensor> map_;
};

// Max |a - b| (NaN positions must agree); prints "[parity] what: max_abs_err".
// A shape mismatch is a test failure (and +inf), never reshaped away.
inline double max_err(const torch::Tensor& got, const torch::Tensor& want) {
  if (got.sizes() != want.sizes()) {
    ADD_FAILURE() << "shape mismatch: got " << got.sizes() << ", want " << want.sizes();
    return std::numeric_limits<double>::infinity();
  }
  auto a = got.detach().to(torch::kDouble);
  auto b = want.detach().to(torch::kDouble);
  auto na = torch::isnan(a), nb = torch::isnan(b);
  if (!torch::equal(na, nb)) return std::numeric_limits<double>::infinity();
  if (a.numel() == 0) return 0.0;
  auto diff = (a - b).abs().masked_fill(na, 0);
  return diff.max().item<double>();
}

#define EXPECT_PARITY(got, want, tol, what)                                                   \
  do {                                                                                        \
    double e_ = ::seer::test::max_err((got), (want));                                        \
    std::cout << "[parity] " << (what) << ": " << e_ << std::endl;                            \
    EXPECT_LE(e_, (tol)) << (what);                                                           \
  } while (0)

// EXPECT_THROW with a one-line message containing `needle`.
#define EXPECT_ONE_LINE_ERROR(stmt, needle)                                                   \
  do {                                                                                        \
    try {                                                                                     \
      stmt;                                                                                   \
      ADD_FAILURE() << "no error from " #stmt;                                                \
    } catch (const seer::Error& e_) {                                                         \
      std::string m_ = e_.what();                                                             \
      EXPECT_EQ(m_.find('\n'), std::string::npos) << m_;                                      \
      EXPECT_NE(m_.find(needle), std::string::npos) << m_;                                    \
    }                                                                                         \
  } while (0)

}  // namespace seer::test
