// Writers (safetensors, .pth, TorchScript) and loading state dicts into modules.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_checkpoint_write {
namespace {

StateDict mixed_tensors() {
  torch::manual_seed(3);
  StateDict sd;
  sd.insert("b.weight", torch::randn({3, 4}));
  sd.insert("a.bias", torch::randn({2}, torch::kDouble));
  sd.insert("half", torch::randn({2, 2}).to(torch::kHalf));
  sd.insert("bf", torch::randn({3}).to(torch::kBFloat16));
  sd.insert("ids", torch::arange(5, torch::kLong));
  sd.insert("i32", torch::tensor({-1, 2}, torch::kInt));
  sd.insert("i16", torch::tensor({-3, 4}, torch::kShort));
  sd.insert("i8", torch::tensor({-5, 6}, torch::kChar));
  sd.insert("u8", torch::tensor({0, 255}, torch::kByte));
  sd.insert("mask", torch::tensor({true, false, true}));
  sd.insert("scalar", torch::tensor(2.5));
  sd.insert("empty", torch::zeros({0, 7}));
  sd.insert("transposed", torch::randn({4, 3}).t());  // non-contiguous input
  return sd;
}

void expect_same(const StateDict& got, const StateDict& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ(got.items()[k].key(), want.items()[k].key());
    const auto& g = got.items()[k].value();
    const auto& w = want.items()[k].value();
    EXPECT_EQ(g.scalar_type(), w.scalar_type()) << want.items()[k].key();
    EXPECT_EQ(g.sizes(), w.sizes()) << want.items()[k].key();
    EXPECT_TRUE(torch::equal(g, w)) << want.items()[k].key();
  }
}

TEST(WriteSafetensors, RoundTripWithMetadata) {
  std::string dir = test::temp_dir("st_rt");
  std::string path = dir + "/w.safetensors";
  StateDict sd = mixed_tensors();
  std::map<std::string, std::string> meta = {{"family", "detr"}, {"format", "pt"}, {"quote", "a \"b\"\n"}};
  write_safetensors(path, sd, meta);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  // header length is a multiple of 8
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
  WeightsFile w = read_weights(path);
  EXPECT_EQ(w.format, "safetensors");
  EXPECT_EQ(w.metadata, meta);
  expect_same(w.tensors, sd);  // insertion order kept
  std::filesystem::remove_all(dir);
}

TEST(WriteSafetensors, ErrorsNameThePath) {
  StateDict sd;
  sd.insert("c", torch::zeros({2}, torch::kComplexFloat));
  std::string dir = test::temp_dir("st_err");
  try {
    write_safetensors(dir + "/c.safetensors", sd);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("c.safetensors"), std::string::npos);
  }
  StateDict ok;
  ok.insert("x", torch::ones({2}));
  try {
    write_safetensors(dir + "/no/such/dir/x.safetensors", ok);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/dir/x.safetensors"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(WritePth, ReadsBackInOrder) {
  std::string dir = test::temp_dir("pth_rt");
  std::string path = dir + "/w.pth";
  StateDict sd = mixed_tensors();
  write_pth(path, sd);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  WeightsFile w = read_weights(path);
  EXPECT_EQ(w.format, "zip");
  EXPECT_EQ(w.nested_key, "");
  expect_same(w.tensors, sd);
  EXPECT_THROW(write_pth(dir + "/missing/w.pth", sd), RuntimeError);
  std::filesystem::remove_all(dir);
}

// The layout train/checkpointer writes: torch::pickle_save of generic dicts
// (TorchScript's pickler wraps them in restore_type_tag), a tensor at the top.
TEST(ReadWeights, SeerStyleCheckpoint) {
  auto make = [] { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); };
  auto model = make();
  model.insert("module.w", torch::ones({2, 2}));  // all keys prefixed -> stripped
  model.insert("module.b", torch::zeros({2}));
  auto meta = make();
  meta.insert("family", std::string("detr"));
  meta.insert("epoch", int64_t{4});
  auto top = make();
  top.insert("model", model);
  top.insert("meta", meta);
  top.insert("rng", torch::arange(4));
  std::string dir = test::temp_dir("seer_ckpt");
  std::vector<char> bytes = torch::pickle_save(top);
  std::ofstream(dir + "/last.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  WeightsFile w = read_weights(dir + "/last.pt", "model");
  EXPECT_EQ(w.nested_key, "model");
  EXPECT_EQ(w.tensors.keys(), (std::vector<std::string>{"w", "b"}));
  EXPECT_EQ(w.metadata, (std::map<std::string, std::string>{{"family", "detr"}}));
  std::filesystem::remove_all(dir);
}

// A small model with nested children and a buffer, named like a DETR head.
struct HeadImpl : torch::nn::Module {
  HeadImpl() {
    fc = register_module("fc", torch::nn::Linear(4, 3));
    bn = register_module("bn", torch::nn::BatchNorm1d(3));
  }
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
};
TORCH_MODULE(Head);

struct NetImpl : torch::nn::Module {
  NetImpl(int classes = 3) {
    scale = register_parameter("scale", torch::ones({1}));
    backbone = register_module("backbone", torch::nn::Sequential(torch::nn::Conv2d(2, 4, 3), torch::nn::ReLU()));
    head = register_module("head", Head());
    class_embed = register_module("class_embed", torch::nn::Linear(3, classes));
  }
  torch::Tensor scale;
  torch::nn::Sequential backbone{nullptr};
  Head head{nullptr};
  torch::nn::Linear class_embed{nullptr};
};
TORCH_MODULE(Net);

TEST(ModuleStateDict, PythonOrderAndNames) {
  Net net;
  StateDict sd = module_state_dict(*net);
  std::vector<std::string> keys = sd.keys();
  std::vector<std::string> want = {"scale", "backbone.0.weight", "backbone.0.bias", "head.fc.weight", "head.fc.bias",
                                   "head.bn.weight", "head.bn.bias", "head.bn.running_mean", "head.bn.running_var",
                                   "head.bn.num_batches_tracked", "class_embed.weight", "class_embed.bias"};
  EXPECT_EQ(keys, want);
  EXPECT_TRUE(sd["head.fc.weight"].is_same(net->head->fc->weight));
}

StateDict shifted(const StateDict& sd, double by) {
  StateDict out;
  for (const auto& it : sd) out.insert(it.key(), it.value().detach().to(torch::kDouble) + by);
  return out;
}

TEST(LoadStateDict, StrictSuccessConvertsDtype) {
  Net a, b;
  StateDict src = shifted(module_state_dict(*a), 1.0);  // float64 in the file
  LoadReport r = load_state_dict(*b, src, /*strict=*/true, "a.pth");
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.loaded.size(), 12u);
  EXPECT_EQ(r.summary(), "loaded 12 tensors; missing 0; unexpected 0; shape-mismatched 0");
  for (const auto& it : module_state_dict(*b)) {
    EXPECT_EQ(it.value().scalar_type(), it.key() == "head.bn.num_batches_tracked" ? torch::kLong : torch::kFloat);
    EXPECT_TRUE(torch::allclose(it.value().to(torch::kDouble), src[it.key()])) << it.key();
  }
  EXPECT_TRUE(b->head->fc->weight.requires_grad());
}

TEST(LoadStateDict, StrictFailureNamesKeysAndModifiesNothing) {
  Net a(5), b(3);
  StateDict src = shifted(module_state_dict(*a), 1.0);
  src.erase("head.bn.running_var");
  src.insert("extra.weight", torch::zeros({2, 2}));
  StateDict before;
  for (const auto& it : module_state_dict(*b)) before.insert(it.key(), it.value().clone());
  try {
    load_state_dict(*b, src, true, "ckpt/detr.pth");
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_EQ(msg.find('\n'), std::string::npos);
    for (const char* part : {"ckpt/detr.pth", "missing 1 (head.bn.running_var [3])", "unexpected 1 (extra.weight [2,2])",
                             "class_embed.weight file [5,3] vs model [3,3]", "class_embed.bias"})
      EXPECT_NE(msg.find(part), std::string::npos) << part << " not in: " << msg;
  }
  expect_same(module_state_dict(*b), before);
}

TEST(LoadStateDict, NonStrictReports) {
  Net a(5), b(3);
  StateDict src = shifted(module_state_dict(*a), 1.0);
  src.erase("scale");
  src.insert("extra", torch::zeros({1}));
  torch::Tensor old_cls = b->class_embed->weight.clone();
  LoadReport r = load_state_dict(*b, src, false, "x.pth");
  EXPECT_FALSE(r.clean());
  EXPECT_EQ(r.missing, std::vector<std::string>{"scale"});
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"extra"});
  ASSERT_EQ(r.mismatched.size(), 2u);
  EXPECT_EQ(r.mismatched[0].name, "class_embed.weight");
  EXPECT_EQ(r.mismatched[0].file_shape, (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(r.mismatched[0].model_shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(r.loaded.size(), 9u);
  EXPECT_EQ(r.summary(),
            "loaded 9 tensors; missing 1 (scale); unexpected 1 (extra); shape-mismatched 2 (class_embed.weight [5,3] "
            "vs [3,3], class_embed.bias [5] vs [3])");
  EXPECT_TRUE(torch::equal(b->class_embed->weight, old_cls));  // left as initialised
  EXPECT_TRUE(torch::equal(b->head->fc->weight, a->head->fc->weight.detach() + 1));
  EXPECT_TRUE(torch::equal(b->scale, torch::ones({1})));
}

TEST(LoadStateDict, Prefix) {
  Net net;
  Head head;
  StateDict src = shifted(module_state_dict(*head), 2.0);  // keys fc.weight, bn.running_mean, ...
  LoadReport r = load_state_dict(*net, src, true, "head.pth", "head.");
  EXPECT_TRUE(r.clean()) << r.summary();
  EXPECT_EQ(r.loaded.size(), 7u);
  EXPECT_TRUE(torch::equal(net->head->fc->weight, head->fc->weight.detach() + 2));
  // strict with a prefix: only keys under it can be missing
  src.erase("fc.bias");
  try {
    load_state_dict(*net, src, true, "head.pth", "head.");
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("missing 1 (head.fc.bias [3])"), std::string::npos) << e.what();
  }
}

TEST(ExportTorchscript, LoadsAndMatches) {
  torch::manual_seed(0);
  Head head;
  head->eval();
  auto fn = [&](const std::vector<torch::Tensor>& in) -> std::vector<torch::Tensor> {
    auto y = torch::relu(head->fc->forward(in[0]));           // [B, 3]
    auto masked = y.masked_fill(in[1].unsqueeze(-1), 0.0);     // bool input: rows to blank
    return {masked, y.sum(-1)};
  };
  auto x = torch::randn({5, 4});
  auto mask = torch::tensor({true, false, false, true, false});
  std::string dir = test::temp_dir("ts");
  std::string path = dir + "/head.pt";
  export_torchscript(*head, fn, {x, mask}, {"features", "mask"}, path);
  EXPECT_TRUE(head->fc->weight.requires_grad());  // restored
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  torch::jit::Module m = torch::jit::load(path);
  auto x2 = torch::randn({7, 4});
  auto mask2 = torch::rand({7}) > 0.5;
  auto out = m.forward({x2, mask2}).toTuple()->elements();
  auto want = fn({x2, mask2});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(torch::equal(out[0].toTensor(), want[0].detach()));
  EXPECT_TRUE(torch::equal(out[1].toTensor(), want[1].detach()));
  auto schema = m.get_method("forward").function().getSchema();
  ASSERT_EQ(schema.arguments().size(), 3u);
  EXPECT_EQ(schema.arguments()[1].name(), "features");
  EXPECT_EQ(schema.arguments()[2].name(), "mask");

  EXPECT_THROW(export_torchscript(*head, fn, {x, mask}, {"only_one"}, path), RuntimeError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace seer_test_test_checkpoint_write
}  // namespace seer
