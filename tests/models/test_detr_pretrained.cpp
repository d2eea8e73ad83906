// model.backbone.pretrained: a torchvision ImageNet ResNet checkpoint (with its
// fc head and BatchNorm counters) loads into a frozen-BN DETR backbone.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/checkpoint.h"
#include "core/config.h"
#include "core/error.h"
#include "models/detr/detr.h"
#include "test_util.h"
namespace seer_test_test_detr_pretrained {

using namespace seer;

namespace {

std::shared_ptr<Model> build(const std::string& extra_backbone) {
  Config cfg = Config::from_string(
      "model:\n  type: detr\n  num_queries: 3\n  backbone: {depth: 18" + extra_backbone +
      "}\n  transformer: {hidden_dim: 16, nheads: 2, enc_layers: 1, dec_layers: 1, dim_feedforward: 16}\n");
  CategoryTable cats;
  cats.add(1, "a");
  cats.add(2, "b");
  return read_model_spec(cfg.root()).build(cats);
}

}  // namespace

TEST(DetrPretrained, TorchvisionCheckpointLoadsIntoTheBackbone) {
  std::string dir = seer::test::temp_dir("detr_pretrained");
  // a "torchvision" checkpoint: BatchNorm ResNet-18 body + fc head
  torch::manual_seed(5);
  auto source = std::dynamic_pointer_cast<Detr>(build(", norm: batch_norm"));
  StateDict sd = module_state_dict(*source->body);
  ASSERT_TRUE(sd.contains("bn1.num_batches_tracked"));
  sd.insert("fc.weight", torch::randn({1000, 512}));
  sd.insert("fc.bias", torch::randn({1000}));
  {
    torch::NoGradGuard ng;
    sd["bn1.running_mean"].uniform_(-1, 1);
  }
  write_pth(dir + "/resnet18.pth", sd);

  auto model = std::dynamic_pointer_cast<Detr>(build(", norm: frozen_bn, pretrained: " + dir + "/resnet18.pth"));
  StateDict got = module_state_dict(*model->body);
  for (const auto& item : got) EXPECT_TRUE(torch::equal(item.value(), sd[item.key()])) << item.key();
  EXPECT_FALSE(got.contains("fc.weight"));

  // a checkpoint of another architecture is refused with the file named
  StateDict wrong;
  wrong.insert("conv1.weight", torch::zeros({64, 3, 3, 3}));
  write_pth(dir + "/wrong.pth", wrong);
  try {
    build(", pretrained: " + dir + "/wrong.pth");
    FAIL() << "expected an error";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("wrong.pth"), std::string::npos) << e.what();
  }
}

}  // namespace seer_test_test_detr_pretrained
