// `seer export` of every shipped DETR config writes exactly the state_dict
// names and shapes of the official facebookresearch/detr model for that config
// (tests/data/detr/official_state_dicts.json, written from the official code by
// scripts/fixtures/official_detr_state_dicts.py), in both weight formats.
//
// The model is the config's, with random weights: the test builds it as the CLI
// does, saves its full state_dict as the --weights file, and runs the binary.
// Allowed differences, each recorded and checked in the fixture by the generator:
// - backbone `*.num_batches_tracked` of configs with backbone.norm: batch_norm
//   (the official FrozenBatchNorm2d drops that key when loading, strict or not);
// - the configs listed with loads_into_official: false, here only
//   detr_r18_synthetic.yaml: its learned decoder content adds tgt_embed.weight,
//   which the official DETR has no module for (README says so). For it the test
//   checks that this is the ONLY difference.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/checkpoint.h"
#include "test_util.h"
#include "train/model_io.h"
#include "cli/resolve.h"
namespace seer_test_test_detr_official_keys {

namespace fs = std::filesystem;

namespace {

using Shapes = std::map<std::string, std::vector<int64_t>>;

const nlohmann::json& official() {
  static const nlohmann::json j = [] {
    std::ifstream f(seer::test::fixture("detr/official_state_dicts.json"));
    if (!f) throw std::runtime_error("missing fixture detr/official_state_dicts.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

Shapes shapes_of(const nlohmann::json& entries) {
  Shapes out;
  for (const auto& e : entries) out[e[0].get<std::string>()] = e[1].get<std::vector<int64_t>>();
  return out;
}

// The shared-data folder a config's category table is read from ("" = none needed).
// The COCO configs name their dataset by data.root; the shared COCO subsets stand
// in for it (num_classes: 91 is explicit there, so the table does not change the model).
std::string data_root_of(const std::string& config) {
  if (config == "detr_r18_coco_tiny.yaml") return "coco/tiny_coco";
  if (config.find("_coco") != std::string::npos) return "coco/coco_tiny160";
  return "";
}

bool ignorable_on_official_load(const std::string& key, const std::vector<int64_t>& shape, const Shapes& expected,
                                const nlohmann::json& entry) {
  if (!entry.contains("ignored_on_official_load")) return false;
  EXPECT_EQ(entry["ignored_on_official_load"], "backbone.*.num_batches_tracked");  // the only rule there is
  const std::string leaf = ".num_batches_tracked";
  if (key.rfind("backbone.", 0) != 0 || key.size() <= leaf.size() ||
      key.compare(key.size() - leaf.size(), leaf.size(), leaf) != 0 || !shape.empty())
    return false;
  // only next to an official (frozen) BatchNorm
  return expected.count(key.substr(0, key.size() - leaf.size()) + ".running_mean") == 1;
}

class DetrOfficialKeys : public ::testing::TestWithParam<std::string> {};

TEST_P(DetrOfficialKeys, ExportHasTheOfficialNamesAndShapes) {
  const std::string name = GetParam() + ".yaml";
  ASSERT_TRUE(official()["configs"].contains(name)) << name << " has no entry in the fixture";
  const auto& entry = official()["configs"][name];
  const std::string config = seer::test::source_path("configs/detr/" + name);

  std::vector<std::string> sets;
  if (const std::string rel = data_root_of(name); !rel.empty()) {
    SEER_REQUIRE_DATA(root, rel);
    sets.push_back("data.root=" + root);
  }
  std::string set_args;
  for (const auto& s : sets) set_args += " --set " + s;

  // the config's model with random weights, saved as the --weights file
  const std::string dir = seer::test::temp_dir("detr_official_keys_" + GetParam());
  const std::string weights = dir + "/random.safetensors";
  {
    seer::ResolvedConfig rc = seer::resolve_config(config, sets);
    auto model = seer::build_model(rc, seer::config_categories(rc));
    seer::write_safetensors(weights, seer::module_state_dict(*model), {{"format", "pt"}});
  }

  Shapes expected = shapes_of(entry["keys"]);
  const bool loads = entry["loads_into_official"].get<bool>();
  if (!loads) {
    ASSERT_TRUE(entry.contains("extra_in_seer")) << name;
    for (const auto& [k, s] : shapes_of(entry["extra_in_seer"])) expected[k] = s;
  }

  for (const std::string fmt : {"pth", "safetensors"}) {
    const std::string out = dir + "/model." + fmt;
    seer::test::CliResult r =
        seer::test::run_seer("export " + config + " --weights " + weights + " --format " + fmt + " --out " + out + set_args);
    ASSERT_EQ(r.code, 0) << name << " " << fmt << ": " << r.out;
    Shapes got;
    for (const auto& item : seer::read_weights(out).tensors) got[item.key()] = item.value().sizes().vec();
    fs::remove(out);

    std::vector<std::string> missing, unexpected, wrong_shape;
    int ignored = 0;
    for (const auto& [k, s] : expected)
      if (!got.count(k)) missing.push_back(k);
    for (const auto& [k, s] : got) {
      auto it = expected.find(k);
      if (it == expected.end()) {
        if (ignorable_on_official_load(k, s, expected, entry)) ++ignored;
        else unexpected.push_back(k);
      } else if (it->second != s) {
        wrong_shape.push_back(k + " " + c10::str(c10::IntArrayRef(s)) + " (official " +
                              c10::str(c10::IntArrayRef(it->second)) + ")");
      }
    }
    auto first = [](const std::vector<std::string>& v) { return v.empty() ? std::string() : v.front(); };
    EXPECT_TRUE(missing.empty()) << name << " " << fmt << ": " << missing.size() << " official keys missing, e.g. "
                                 << first(missing);
    EXPECT_TRUE(unexpected.empty()) << name << " " << fmt << ": " << unexpected.size()
                                    << " keys the official model lacks, e.g. " << first(unexpected);
    EXPECT_TRUE(wrong_shape.empty()) << name << " " << fmt << ": " << wrong_shape.size()
                                     << " keys with another shape, e.g. " << first(wrong_shape);
    if (entry.contains("ignored_on_official_load"))  // one per backbone BatchNorm, else the rule is not exercised
      EXPECT_GT(ignored, 0) << name << " " << fmt;
    else
      EXPECT_EQ(ignored, 0) << name << " " << fmt;
  }
  fs::remove_all(dir);
}

// Every DETR config shipped in configs/detr/ has an entry (a new one without
// an official counterpart must be added to the fixture with its reason).
std::vector<std::string> shipped_detr_configs() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(seer::test::source_path("configs/detr")))
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shipped, DetrOfficialKeys, ::testing::ValuesIn(shipped_detr_configs()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(DetrOfficialKeysFixture, ListsExactlyTheShippedConfigsAndWhichCannotLoad) {
  std::set<std::string> in_fixture, shipped;
  for (const auto& [k, v] : official()["configs"].items()) in_fixture.insert(k);
  for (const auto& c : shipped_detr_configs()) shipped.insert(c + ".yaml");
  EXPECT_EQ(in_fixture, shipped);
  // the configs that cannot load into the official code, and why (README says the same)
  std::set<std::string> cannot;
  for (const auto& [k, v] : official()["configs"].items())
    if (!v["loads_into_official"].get<bool>()) cannot.insert(k);
  EXPECT_EQ(cannot, std::set<std::string>{"detr_r18_synthetic.yaml"});
  const auto& syn = official()["configs"]["detr_r18_synthetic.yaml"];
  EXPECT_EQ(shapes_of(syn["extra_in_seer"]), (Shapes{{"tgt_embed.weight", {20, 128}}}));
  EXPECT_NE(syn["official_load_error"].get<std::string>().find("Unexpected key(s) in state_dict: \"tgt_embed.weight\""),
            std::string::npos);
}

}  // namespace

}  // namespace seer_test_test_detr_official_keys
