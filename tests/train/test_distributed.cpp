// Data-parallel building blocks without a second process: seer::dist with no
// backend (a world of one), and with a scripted two-rank backend that plays the
// peer (bucketed gradient averaging, gathering evaluation items); the torchrun
// environment parser and its errors. The real two-process runs are in
// tests/cli/test_distributed_cli.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "core/distributed.h"
#include "core/error.h"
#include "train/distributed.h"
#include "train/eval_gather.h"
namespace seer_test_test_distributed {

namespace {

using seer::EvalItems;
namespace dist = seer::dist;

// Rank 0 of two; the peer's all-reduce contribution is our tensor + 1 (so an
// average is ours + 0.5), and its gathered bytes are `peer_bytes`.
class ScriptedPeer : public dist::Backend {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 2; }
  void all_reduce_sum(std::vector<at::Tensor>& ts) override {
    for (auto& t : ts) {
      sizes.push_back(t.numel());
      t.mul_(2).add_(1);
    }
  }
  void broadcast(std::vector<at::Tensor>& ts, int root) override { broadcasts += static_cast<int>(ts.size()); }
  std::vector<std::string> all_gather_bytes(const std::string& mine) override { return {mine, peer_bytes}; }
  void barrier() override {}

  std::vector<int64_t> sizes;  // numel of each all-reduced tensor, in order
  int broadcasts = 0;
  std::string peer_bytes;
};

struct WithPeer : ::testing::Test {
  std::shared_ptr<ScriptedPeer> peer = std::make_shared<ScriptedPeer>();
  void SetUp() override { dist::set_backend(peer); }
  void TearDown() override { dist::set_backend(nullptr); }
};

seer::Prediction prediction(int64_t image_id) {
  seer::Prediction p;
  p.boxes = torch::tensor({{1.f, 2.f, 3.f, 4.f}});
  p.scores = torch::tensor({0.5f + 0.1f * image_id});
  p.labels = torch::tensor({image_id}, torch::kInt64);
  p.phrases = {"a red circle"};
  p.image_id = image_id;
  return p;
}

seer::Target target(int64_t image_id) {
  seer::Target t;
  t.boxes = torch::tensor({{0.f, 0.f, 10.f, 10.f}, {5.f, 5.f, 8.f, 9.f}});
  t.labels = torch::tensor({1, 2}, torch::kInt64);
  t.iscrowd = torch::zeros({2}, torch::kUInt8);
  t.area = torch::tensor({100.f, 12.f});
  t.caption = "circle . square .";
  t.tokens_positive = {{{0, 6}}, {}};
  t.image_id = image_id;
  t.orig_size = {64, 48};
  t.size = {32, 24};
  t.file_name = "img_" + std::to_string(image_id) + ".jpg";
  return t;
}

EvalItems items(std::initializer_list<int64_t> ids) {
  EvalItems e;
  for (auto id : ids) e.predictions.push_back(prediction(id)), e.targets.push_back(target(id));
  return e;
}

}  // namespace

TEST(Distributed, WithoutABackendIsAWorldOfOne) {
  dist::set_backend(nullptr);
  EXPECT_EQ(dist::rank(), 0);
  EXPECT_EQ(dist::world_size(), 1);
  EXPECT_TRUE(dist::is_main());
  EXPECT_FALSE(dist::distributed());
  auto t = torch::tensor({1.0, 2.0});
  dist::all_reduce_sum_(t);
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.0, 2.0})));
  EXPECT_EQ(dist::all_reduce_sum(3.5), 3.5);
  EXPECT_EQ(dist::all_gather_bytes("x"), std::vector<std::string>{"x"});
  EXPECT_EQ(dist::broadcast_bytes("y"), "y");
  auto g = torch::ones({3}, torch::requires_grad());
  g.sum().backward();
  seer::all_reduce_gradients({g});
  EXPECT_TRUE(torch::equal(g.grad(), torch::ones({3})));
}

TEST_F(WithPeer, ScalarsAndBytesGoThroughTheBackend) {
  EXPECT_TRUE(dist::distributed());
  EXPECT_EQ(dist::all_reduce_sum(3.0), 7.0);  // 3 + (3 + 1)
  EXPECT_EQ(dist::broadcast_bytes("mine", 0), "mine");
  peer->peer_bytes = "theirs";
  EXPECT_EQ(dist::broadcast_bytes("mine", 1), "theirs");
  EXPECT_THROW(dist::broadcast_bytes("mine", 2), seer::RuntimeError);
}

TEST_F(WithPeer, GradientsAreAveragedInBuckets) {
  // three float parameters of 1000 elements (4000 bytes); buckets of 8000 bytes
  std::vector<torch::Tensor> ps;
  for (int i = 0; i < 3; ++i) ps.push_back(torch::zeros({1000}, torch::requires_grad()));
  auto no_grad_here = torch::zeros({7}, torch::requires_grad());  // the peer has one
  ps.push_back(no_grad_here);
  (ps[0] * 1 + ps[1] * 2 + ps[2] * 3).sum().backward();
  seer::all_reduce_gradients(ps, 8000);
  // one all-reduce of the "has a gradient" flags, then buckets [p0 p1] [p2 p3]
  EXPECT_EQ(peer->sizes, (std::vector<int64_t>{4, 2000, 1007}));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(torch::allclose(ps[i].grad(), torch::full({1000}, (i + 1) + 0.5))) << i;
  ASSERT_TRUE(no_grad_here.grad().defined());
  EXPECT_TRUE(torch::allclose(no_grad_here.grad(), torch::full({7}, 0.5)));
}

TEST_F(WithPeer, ModuleStateIsBroadcastInBuckets) {
  torch::nn::Linear lin(3, 2);
  torch::nn::BatchNorm1d bn(2);
  lin->register_module("bn", bn);
  seer::broadcast_module_state(*lin);
  // one flat buffer per dtype: float (weight, bias, running stats) and int64 (num_batches_tracked)
  EXPECT_EQ(peer->broadcasts, 2);
}

TEST(EvalGather, ItemsSurviveTheirEncoding) {
  EvalItems in = items({7});
  EvalItems out = seer::decode_eval_items(seer::encode_eval_items(in));
  ASSERT_EQ(out.targets.size(), 1u);
  const auto &p = out.predictions[0], &q = in.predictions[0];
  EXPECT_TRUE(torch::equal(p.boxes, q.boxes) && torch::equal(p.scores, q.scores) && torch::equal(p.labels, q.labels));
  EXPECT_FALSE(p.masks.defined());
  EXPECT_EQ(p.phrases, q.phrases);
  EXPECT_EQ(p.image_id, 7);
  const auto &t = out.targets[0], &u = in.targets[0];
  EXPECT_TRUE(torch::equal(t.boxes, u.boxes) && torch::equal(t.labels, u.labels) && torch::equal(t.area, u.area));
  EXPECT_TRUE(torch::equal(t.iscrowd, u.iscrowd));
  EXPECT_EQ(t.caption, u.caption);
  ASSERT_EQ(t.tokens_positive.size(), 2u);
  EXPECT_EQ(t.tokens_positive[0], u.tokens_positive[0]);
  EXPECT_TRUE(t.tokens_positive[1].empty());
  EXPECT_EQ(t.orig_size, u.orig_size);
  EXPECT_EQ(t.size, u.size);
  EXPECT_EQ(t.file_name, u.file_name);
  EXPECT_THROW(seer::decode_eval_items("not a pickle"), seer::RuntimeError);
}

TEST_F(WithPeer, RankZeroGetsEveryItemInSingleProcessOrderWithoutThePadding) {
  // 3 val images over 2 ranks: rank 0 saw 0 and 2, rank 1 saw 1 and 0 (padding)
  peer->peer_bytes = seer::encode_eval_items(items({1, 0}));
  EvalItems all = seer::gather_eval_items(items({0, 2}));
  ASSERT_EQ(all.targets.size(), 3u);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(all.targets[i].image_id, i);
    EXPECT_EQ(all.predictions[i].image_id, i);
  }
}

TEST(DistributedEnv, ReadsTheTorchrunVariables) {
  for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
    ::unsetenv(v);
  EXPECT_FALSE(seer::read_distributed_env().has_value());
  ::setenv("WORLD_SIZE", "1", 1);
  EXPECT_FALSE(seer::read_distributed_env().has_value());
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "3", 1);
  ::setenv("MASTER_ADDR", "10.0.0.1", 1);
  ::setenv("MASTER_PORT", "29500", 1);
  auto e = seer::read_distributed_env();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->rank, 3);
  EXPECT_EQ(e->world_size, 4);
  EXPECT_EQ(e->local_rank, 3);
  EXPECT_EQ(e->local_world_size, 4);
  EXPECT_EQ(e->master_addr, "10.0.0.1");
  EXPECT_EQ(e->master_port, 29500);

  auto expect_error = [](const char* var, const char* value, const std::string& needle) {
    const char* old = std::getenv(var);
    std::string saved = old ? old : "";
    if (value) ::setenv(var, value, 1);
    else ::unsetenv(var);
    try {
      seer::read_distributed_env();
      ADD_FAILURE() << var << "=" << (value ? value : "(unset)") << " was accepted";
    } catch (const seer::ConfigError& err) {
      EXPECT_NE(std::string(err.what()).find(needle), std::string::npos) << err.what();
    }
    if (old) ::setenv(var, saved.c_str(), 1);
  };
  expect_error("MASTER_PORT", nullptr, "MASTER_PORT is not set");
  expect_error("MASTER_PORT", "http", "MASTER_PORT='http'");
  expect_error("MASTER_PORT", "70000", "MASTER_PORT='70000'");
  expect_error("RANK", "4", "RANK='4'");
  expect_error("RANK", nullptr, "RANK is not set");
  expect_error("WORLD_SIZE", "two", "WORLD_SIZE='two'");
  for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
}

}  // namespace seer_test_test_distributed
