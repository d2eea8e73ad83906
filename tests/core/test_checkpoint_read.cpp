// read_weights on files Python's torch.save wrote (scripts/fixtures/make_checkpoint_fixtures.py),
// the shared resnet20 legacy checkpoint, and broken files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_checkpoint_read {
namespace {

std::string fixture(const std::string& name) { return test::fixture("checkpoint/" + name); }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// name -> tensor from a plain-dict fixture written by torch.save
std::map<std::string, torch::Tensor> load_expected(const std::string& name) {
  std::string bytes = read_bytes(fixture(name));
  auto iv = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : iv.toGenericDict()) out[kv.key().toStringRef()] = kv.value().toTensor();
  return out;
}

const std::vector<std::string> kOrder = {"conv.weight", "conv.bias", "bn.running_mean", "bn.num_batches_tracked",
                                         "mask", "flag", "half", "bf", "i32", "i16", "i8", "fc.weight_t",
                                         "view_a", "view_b", "empty"};

void expect_small_state_dict(const WeightsFile& w) {
  auto expected = load_expected("expected.pt");
  ASSERT_EQ(w.tensors.size(), kOrder.size());
  for (size_t k = 0; k < kOrder.size(); ++k) {
    const auto& item = w.tensors.items()[k];
    EXPECT_EQ(item.key(), kOrder[k]) << "order";
    const torch::Tensor& want = expected.at(kOrder[k]);
    EXPECT_EQ(item.value().scalar_type(), want.scalar_type()) << item.key();
    EXPECT_EQ(item.value().sizes(), want.sizes()) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), want)) << item.key();
  }
  // PyTorch's layout is kept: the transpose stays non-contiguous, the two
  // views share one storage.
  const auto& t = w.tensors["fc.weight_t"];
  EXPECT_EQ(t.strides().vec(), (std::vector<int64_t>{1, 5}));
  const auto& a = w.tensors["view_a"];
  const auto& b = w.tensors["view_b"];
  EXPECT_EQ(a.storage_offset(), 2);
  EXPECT_EQ(b.storage_offset(), 1);
  EXPECT_EQ(b.strides().vec(), (std::vector<int64_t>{4}));
  EXPECT_TRUE(a.storage().is_alias_of(b.storage()));
  EXPECT_EQ(w.tensors["bn.num_batches_tracked"].dim(), 0);
  EXPECT_FALSE(w.tensors["conv.weight"].requires_grad());
}

TEST(ReadWeights, ZipStateDict) {
  WeightsFile w = read_weights(fixture("sd_zip.pth"));
  EXPECT_EQ(w.format, "zip");
  EXPECT_EQ(w.nested_key, "");
  EXPECT_TRUE(w.metadata.empty());
  expect_small_state_dict(w);
}

TEST(ReadWeights, LegacyStateDict) {
  WeightsFile w = read_weights(fixture("sd_legacy.pth"));
  EXPECT_EQ(w.format, "legacy");
  EXPECT_EQ(w.nested_key, "");
  expect_small_state_dict(w);
}

TEST(ReadWeights, NestedWithModulePrefixAndNamespace) {
  for (const char* name : {"nested_zip.pth", "nested_legacy.pth"}) {
    SCOPED_TRACE(name);
    WeightsFile w = read_weights(fixture(name));
    EXPECT_EQ(w.nested_key, "model");
    expect_small_state_dict(w);  // `module.` stripped, optimizer / args / epoch ignored
    EXPECT_EQ(w.metadata.size(), 2u);  // str entries of "meta" only
    EXPECT_EQ(w.metadata.at("family"), "detr");
    EXPECT_EQ(w.metadata.at("note"), "fixture");
  }
}

TEST(ReadWeights, PreferChoosesTheEntryElseFallsBack) {
  WeightsFile w = read_weights(fixture("nested_zip.pth"), "model");
  EXPECT_EQ(w.nested_key, "model");
  EXPECT_EQ(w.tensors.size(), kOrder.size());
  // absent or not tensors: the usual search
  EXPECT_EQ(read_weights(fixture("nested_zip.pth"), "ema").nested_key, "model");
  EXPECT_EQ(read_weights(fixture("nested_zip.pth"), "epoch").nested_key, "model");
  EXPECT_EQ(read_weights(fixture("sd_zip.pth"), "model").nested_key, "");
  // a checkpoint without tensors is a DataError
  std::string dir = test::temp_dir("ckpt_notensors");
  write_pth(dir + "/empty.pth", StateDict());
  try {
    read_weights(dir + "/empty.pth");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("no dict of tensors"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(ReadWeights, PythonWrittenSafetensors) {
  WeightsFile w = read_weights(fixture("py_written.safetensors"));
  EXPECT_EQ(w.format, "safetensors");
  EXPECT_EQ(w.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"family", "detr"}}));
  auto expected = load_expected("expected.pt");
  EXPECT_EQ(w.tensors.size(), 12u);
  for (const auto& item : w.tensors) {
    const torch::Tensor& want = expected.at(item.key());
    EXPECT_EQ(item.value().scalar_type(), want.scalar_type()) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), want)) << item.key();
  }
  // data order of that writer: widest dtype first, then by name
  EXPECT_EQ(w.tensors.items()[0].key(), "bn.num_batches_tracked");
}

TEST(ReadWeights, SharedResnet20Legacy) {
  SEER_REQUIRE_DATA(path, "weights/resnet20_cifar10/resnet20-12fca82f.th");
  WeightsFile w = read_weights(path);
  EXPECT_EQ(w.format, "legacy");
  EXPECT_EQ(w.nested_key, "state_dict");
  auto expected = load_expected("resnet20_expected.pt");
  EXPECT_EQ(static_cast<int64_t>(w.tensors.size()), expected.at("__num_keys__").item<int64_t>());
  EXPECT_EQ(w.tensors.items().front().key(), "conv1.weight");
  EXPECT_EQ(w.tensors.items().back().key(), "linear.bias");
  for (const auto& [k, v] : expected) {
    if (k == "__num_keys__") continue;
    ASSERT_TRUE(w.tensors.contains(k)) << k;
    EXPECT_TRUE(torch::equal(w.tensors[k], v)) << k;
  }
  EXPECT_EQ(w.tensors["layer3.2.conv2.weight"].sizes().vec(), (std::vector<int64_t>{64, 64, 3, 3}));
}

std::string data_error(const std::string& path, const std::string& prefer = "") {
  try {
    read_weights(path, prefer);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(ReadWeights, UnsupportedGlobalInTensorPartIsRejectedNotRun) {
  std::string msg = data_error(fixture("evil_global.pth"));
  EXPECT_NE(msg.find("posix.system"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'evil'"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  msg = data_error(fixture("quantized.pth"));
  EXPECT_NE(msg.find("quantized.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor 'q'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("_rebuild_qtensor"), std::string::npos) << msg;
  // outside the chosen state dict, what we cannot read is never touched
  for (const char* name : {"quantized_elsewhere_zip.pth", "quantized_elsewhere_legacy.pth"}) {
    WeightsFile w = read_weights(fixture(name));
    EXPECT_EQ(w.nested_key, "model") << name;
    EXPECT_EQ(w.tensors.keys(), std::vector<std::string>{"w"}) << name;
  }
}

TEST(ReadWeights, MissingEmptyAndRandomFiles) {
  std::string dir = test::temp_dir("ckpt_bad");
  EXPECT_NE(data_error(dir + "/nope.pth").find("no such file"), std::string::npos);
  EXPECT_NE(data_error(dir).find("not a regular file"), std::string::npos);
  write_bytes(dir + "/empty.pth", "");
  EXPECT_NE(data_error(dir + "/empty.pth").find("empty"), std::string::npos);
  std::mt19937 rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    std::string junk(1 + rng() % 3000, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    // also random bytes behind each format's magic
    if (trial % 4 == 1) junk.replace(0, std::min<size_t>(4, junk.size()), "PK\x03\x04", std::min<size_t>(4, junk.size()));
    if (trial % 4 == 2) junk[0] = static_cast<char>(0x80);
    if (trial % 4 == 3 && junk.size() > 9) junk[8] = '{';
    write_bytes(dir + "/junk.pth", junk);
    std::string msg = data_error(dir + "/junk.pth");
    EXPECT_NE(msg.find("junk.pth"), std::string::npos) << "trial " << trial << ": " << msg;
  }
  std::filesystem::remove_all(dir);
}

// Every prefix of a valid file is a DataError naming the file (never a crash).
void check_truncations(const std::string& name, int steps) {
  std::string bytes = read_bytes(fixture(name));
  std::string dir = test::temp_dir("ckpt_trunc");
  std::string path = dir + "/" + name;
  for (int s = 1; s < steps; ++s) {
    size_t n = bytes.size() * s / steps;
    write_bytes(path, bytes.substr(0, n));
    std::string msg = data_error(path);
    EXPECT_NE(msg.find(name), std::string::npos) << name << " cut at " << n << ": '" << msg << "'";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  // the last byte only
  write_bytes(path, bytes.substr(0, bytes.size() - 1));
  EXPECT_FALSE(data_error(path).empty()) << name << " without its last byte";
  std::filesystem::remove_all(dir);
}

TEST(ReadWeights, TruncatedZip) { check_truncations("sd_zip.pth", 40); }
TEST(ReadWeights, TruncatedLegacy) { check_truncations("sd_legacy.pth", 40); }
TEST(ReadWeights, TruncatedSafetensors) { check_truncations("py_written.safetensors", 40); }

TEST(ReadWeights, CorruptSafetensorsHeaders) {
  std::string dir = test::temp_dir("ckpt_st");
  auto make = [&](const std::string& header, const std::string& data) {
    std::string h = header;
    std::string len(8, '\0');
    uint64_t n = h.size();
    for (int k = 0; k < 8; ++k) len[k] = static_cast<char>(n >> (8 * k));
    write_bytes(dir + "/x.safetensors", len + h + data);
    return data_error(dir + "/x.safetensors");
  };
  std::string four(16, '\0');
  EXPECT_EQ(make(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", four), "");
  EXPECT_NE(make(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,20]}})", four).find("outside"), std::string::npos);
  EXPECT_NE(make(R"({"a":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}})", four).find("need"), std::string::npos);
  EXPECT_NE(make(R"({"a":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}})", four).find("dtype"), std::string::npos);
  EXPECT_NE(make(R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", four).find("shape"), std::string::npos);
  EXPECT_NE(make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", four).find("overlap"), std::string::npos);
  EXPECT_NE(make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", four).find("trailing"), std::string::npos);
  EXPECT_NE(make(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"__metadata__":{"k":1}})", four).find("metadata"), std::string::npos);
  EXPECT_NE(make(R"({"a":{"dtype":"F32")", four).find("JSON"), std::string::npos);
  EXPECT_NE(make(R"([1,2])", four).find("x.safetensors"), std::string::npos);  // not recognised at all
  // header length larger than the file
  std::string huge(8, '\0');
  huge[0] = '\x40';
  huge[1] = '\x40';
  write_bytes(dir + "/y.safetensors", huge + "{}");
  EXPECT_NE(data_error(dir + "/y.safetensors").find("truncated header"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace seer_test_test_checkpoint_read
}  // namespace seer
