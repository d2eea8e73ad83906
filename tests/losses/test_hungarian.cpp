// seer::linear_sum_assignment against scipy.optimize.linear_sum_assignment
// (scipy 1.10.1, tests/data/losses/hungarian.pt): equal total cost on random,
// tied-integer, empty, 1xN, Nx1 and rectangular matrices; valid assignments;
// rows sorted; non-finite input rejected.
#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "core/error.h"
#include "losses/hungarian.h"
#include "losses/loss_fixture.h"
namespace seer_test_test_hungarian {

namespace {

using seer::linear_sum_assignment;

// A valid assignment: min(R, C) pairs, rows strictly increasing, columns distinct.
void expect_valid(const torch::Tensor& r, const torch::Tensor& c, int64_t R, int64_t C) {
  ASSERT_EQ(r.scalar_type(), torch::kLong);
  ASSERT_EQ(c.scalar_type(), torch::kLong);
  ASSERT_EQ(r.numel(), std::min(R, C));
  ASSERT_EQ(c.numel(), std::min(R, C));
  std::set<int64_t> cols;
  for (int64_t k = 0; k < r.numel(); ++k) {
    EXPECT_GE(r[k].item<int64_t>(), 0);
    EXPECT_LT(r[k].item<int64_t>(), R);
    if (k > 0) {
      EXPECT_LT(r[k - 1].item<int64_t>(), r[k].item<int64_t>());
    }
    cols.insert(c[k].item<int64_t>());
    EXPECT_LT(c[k].item<int64_t>(), C);
  }
  EXPECT_EQ(static_cast<int64_t>(cols.size()), r.numel());
}

double total(const torch::Tensor& cost, const torch::Tensor& r, const torch::Tensor& c) {
  if (r.numel() == 0) return 0.0;
  return cost.to(torch::kDouble).index({r, c}).sum().item<double>();
}

TEST(Hungarian, MatchesScipyTotalCost) {
  // Reference: scipy.optimize.linear_sum_assignment, scipy 1.10.1.
  seer::test::LossFixture fx("hungarian.pt");
  const int64_t n = fx["count"].item<int64_t>();
  ASSERT_GT(n, 20);
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto cost = fx["cost_" + std::to_string(i)];
    auto [r, c] = linear_sum_assignment(cost);
    expect_valid(r, c, cost.size(0), cost.size(1));
    const double want = fx["total_" + std::to_string(i)].item<double>();
    const double got = total(cost, r, c);
    const double tol = 1e-9 * std::max(1.0, std::abs(want));
    EXPECT_NEAR(got, want, tol) << "case " << i << " " << cost.sizes();
    worst = std::max(worst, std::abs(got - want) / std::max(1.0, std::abs(want)));
    // Unique optimum on continuous random costs: same pairs as scipy.
    if (cost.size(0) <= 64 && i < 17) {
      EXPECT_TRUE(torch::equal(r, fx["rows_" + std::to_string(i)])) << "case " << i;
      EXPECT_TRUE(torch::equal(c, fx["cols_" + std::to_string(i)])) << "case " << i;
    }
  }
  std::cout << "[parity] hungarian total cost rel err: " << worst << std::endl;
}

// Brute force over permutations for tiny matrices, including ties.
double brute(const std::vector<std::vector<double>>& m) {
  const size_t R = m.size(), C = m[0].size();
  std::vector<int> cols(C);
  std::iota(cols.begin(), cols.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double s = 0;
    if (R <= C) {
      for (size_t i = 0; i < R; ++i) s += m[i][cols[i]];
    } else {
      continue;
    }
    best = std::min(best, s);
  } while (std::next_permutation(cols.begin(), cols.end()));
  return best;
}

TEST(Hungarian, BruteForceSmallWithTies) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> v(0, 3), dim(1, 6);
  for (int trial = 0; trial < 300; ++trial) {
    int R = dim(rng), C = dim(rng);
    if (R > C) std::swap(R, C);
    std::vector<std::vector<double>> m(R, std::vector<double>(C));
    auto t = torch::empty({R, C}, torch::kDouble);
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < C; ++j) t[i][j] = m[i][j] = v(rng);
    auto [r, c] = linear_sum_assignment(t);
    expect_valid(r, c, R, C);
    EXPECT_DOUBLE_EQ(total(t, r, c), brute(m)) << t;
    // The transpose has the same optimum.
    auto [rt, ct] = linear_sum_assignment(t.t().contiguous());
    expect_valid(rt, ct, C, R);
    EXPECT_DOUBLE_EQ(total(t.t(), rt, ct), brute(m));
  }
}

TEST(Hungarian, EmptyAndVectors) {
  for (auto shape : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 3}, {3, 0}}) {
    auto [r, c] = linear_sum_assignment(torch::zeros({shape.first, shape.second}));
    EXPECT_EQ(r.numel(), 0);
    EXPECT_EQ(c.numel(), 0);
    EXPECT_EQ(r.scalar_type(), torch::kLong);
  }
  auto row = torch::tensor({{3.0, -1.0, 2.0, -1.5}});
  auto [r1, c1] = linear_sum_assignment(row);
  EXPECT_EQ(r1.item<int64_t>(), 0);
  EXPECT_EQ(c1.item<int64_t>(), 3);
  auto [r2, c2] = linear_sum_assignment(row.t().contiguous());
  EXPECT_EQ(r2.item<int64_t>(), 3);
  EXPECT_EQ(c2.item<int64_t>(), 0);
}

TEST(Hungarian, FloatAndNonContiguousInput) {
  auto base = torch::rand({30, 40}, torch::TensorOptions().dtype(torch::kDouble));
  auto [r, c] = linear_sum_assignment(base);
  auto [rf, cf] = linear_sum_assignment(base.to(torch::kFloat));
  EXPECT_NEAR(total(base.to(torch::kFloat), rf, cf), total(base, r, c), 1e-4);
  auto [rt, ct] = linear_sum_assignment(base.t());  // non-contiguous 40x30
  EXPECT_NEAR(total(base.t(), rt, ct), total(base, r, c), 1e-9);
}

TEST(Hungarian, BadInputIsOneLineError) {
  auto m = torch::rand({4, 5});
  m[2][3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_ONE_LINE_ERROR(linear_sum_assignment(m), "non-finite");
  m[2][3] = std::numeric_limits<float>::infinity();
  EXPECT_ONE_LINE_ERROR(linear_sum_assignment(m), "(2, 3)");
  m[2][3] = -std::numeric_limits<float>::infinity();
  EXPECT_ONE_LINE_ERROR(linear_sum_assignment(m), "non-finite");
  EXPECT_ONE_LINE_ERROR(linear_sum_assignment(torch::rand({2, 3, 4})), "2-D");
  EXPECT_ONE_LINE_ERROR(linear_sum_assignment(torch::ones({2, 3}, torch::kLong)), "float or double");
  EXPECT_ONE_LINE_ERROR(linear_sum_assignment(torch::Tensor()), "2-D");
}

}  // namespace

}  // namespace seer_test_test_hungarian
