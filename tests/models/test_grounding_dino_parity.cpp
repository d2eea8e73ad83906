// Grounding DINO against the official code (IDEA-Research/GroundingDINO
// 856dde20, Open-GroundingDino d248268a): fixtures written by
// scripts/fixtures/make_grounding_dino_fixtures.py with hashed weights (the
// same formula as the DETR fixtures; tests/models/detr_fixture.h).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <sstream>
#include <unordered_set>

#include "core/checkpoint.h"
#include "core/config.h"
#include "models/detr_fixture.h"
#include "models/grounding_dino/grounding_dino.h"
#include "test_util.h"

namespace seer_test_test_grounding_dino_parity {

namespace {

using namespace seer;
using seer::test::PtDict;
using seer::test::hashed_value;
using seer::test::max_abs_err;

const char* kVocab = "tokenizers/bert-base-uncased-vocab.txt";

// The official SwinT-OGC config with the fixture's 2-layer BERT.
std::shared_ptr<GroundingDino> official_model(const std::string& vocab, const std::string& variant = "tiny",
                                              int64_t bert_layers = 2) {
  auto cfg = Config::from_string("model:\n  type: grounding_dino\n  backbone: {type: swin, variant: " + variant +
                                 "}\n  text_encoder: {vocab: '" + vocab +
                                 "', num_layers: " + std::to_string(bert_layers) + "}\n");
  auto spec = read_model_spec(cfg.root());
  cfg.check_unknown_keys();
  return std::dynamic_pointer_cast<GroundingDino>(spec.build(CategoryTable{}));
}

// The fixture's weights: hashed from the first official name of each storage
// (official state_dict order), decoder.norm and enc_output_norm scaled by 1/4;
// integer buffers keep their computed values.
void load_fixture_weights(GroundingDino& m, const std::string& state_names) {
  auto sd = module_state_dict(m);
  std::unordered_set<const void*> done;
  std::istringstream in(state_names);
  std::string line;
  int64_t filled = 0;
  torch::NoGradGuard ng;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::string name = line.substr(0, line.find('\t'));
    const torch::Tensor* t = sd.find(name);
    ASSERT_NE(t, nullptr) << "our model has no " << name;
    if (!t->is_floating_point()) continue;
    if (!done.insert(t->unsafeGetTensorImpl()).second) continue;
    auto v = hashed_value(name, t->sizes().vec());
    if (name.rfind("transformer.decoder.norm.", 0) == 0 || name.rfind("transformer.enc_output_norm.", 0) == 0) v = v * 0.25;
    const_cast<torch::Tensor*>(t)->copy_(v);
    ++filled;
  }
  EXPECT_GT(filled, 300);
}

TEST(GroundingDinoParity, StateDictNamesOfTheReleasedConfigs) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  std::ifstream f(seer::test::fixture("grounding_dino/official_state_dicts.json"));
  ASSERT_TRUE(f.good());
  auto j = nlohmann::json::parse(f);
  for (const auto& [file, variant] : std::vector<std::pair<std::string, std::string>>{
           {"GroundingDINO_SwinT_OGC.py", "tiny"}, {"GroundingDINO_SwinB_cfg.py", "base"}}) {
    auto m = official_model(vocab, variant, 12);
    std::map<std::string, std::vector<int64_t>> ours, official;
    for (const auto& item : module_state_dict(*m)) ours[item.key()] = item.value().sizes().vec();
    for (const auto& e : j["configs"][file]["state_dict"]) official[e[0].get<std::string>()] = e[1].get<std::vector<int64_t>>();
    EXPECT_EQ(seer::test::diff_names(ours, official), "") << file;
    EXPECT_EQ(ours.size(), j["configs"][file]["num_entries"].get<size_t>()) << file;
    // the alias groups are one tensor each
    auto sd = module_state_dict(*m);
    for (const auto& group : j["configs"][file]["alias_groups"]) {
      const auto first = sd[group[0].get<std::string>()];
      for (const auto& n : group) EXPECT_TRUE(sd[n.get<std::string>()].is_same(first)) << n;
    }
  }
}

TEST(GroundingDinoParity, ForwardEqualsTheOfficialModel) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  PtDict fx("grounding_dino/swint_forward.pt");
  auto m = official_model(vocab);
  load_fixture_weights(*m, fx.str("state_names"));
  m->eval();
  torch::NoGradGuard ng;

  // text
  auto t = m->tokenize({fx.str("caption")});
  EXPECT_TRUE(torch::equal(t.input_ids, fx["input_ids"]));
  EXPECT_TRUE(torch::equal(t.self_attention_mask, fx["text_self_attention_masks"]));
  EXPECT_TRUE(torch::equal(t.position_ids, fx["position_ids"]));
  EXPECT_TRUE(torch::equal(t.token_mask.to(torch::kLong), fx["attention_mask"]));
  auto text = m->encode_text(t);
  EXPECT_CLOSE(text.encoded, fx["encoded_text"], 1e-4, "encoded_text");

  // backbone
  auto image = fx["image"].to(torch::kFloat);
  auto mask = fx["mask"];
  auto feats = m->body->forward_features(image);
  ASSERT_EQ(feats.size(), 3u);
  for (int64_t l = 0; l < 3; ++l) {
    const std::string k = "backbone/" + std::to_string(l) + "/";
    EXPECT_CLOSE(feats[l].index_select(1, fx[k + "channel_index"]), fx[k + "features"], 1e-4, k);
    EXPECT_NEAR(feats[l].to(torch::kDouble).sum().item<double>(), fx[k + "sum"].item<double>(),
                1e-6 * fx[k + "abs_sum"].item<double>())
        << k;
  }

  // the whole model
  auto out = m->forward(image, mask, text);
  const int64_t T = fx["input_ids"].size(1);
  auto topk = out.topk_index;
  EXPECT_TRUE(torch::equal(topk, fx["query/topk_index"])) << "query selection differs";
  EXPECT_CLOSE(out.interm_logits.slice(2, 0, T), fx["interm/pred_logits"], 1e-3, "interm logits");
  EXPECT_CLOSE(out.interm_boxes, fx["interm/pred_boxes"], 1e-4, "interm boxes");
  for (int64_t l = 0; l < 5; ++l) {
    const std::string k = "aux/" + std::to_string(l) + "/";
    EXPECT_CLOSE(out.logits[l].slice(2, 0, T), fx[k + "pred_logits"], 1e-3, k + "pred_logits");
    EXPECT_CLOSE(out.boxes[l], fx[k + "pred_boxes"], 1e-4, k + "pred_boxes");
  }
  EXPECT_CLOSE(out.logits[5].slice(2, 0, T), fx["pred_logits"], 1e-4 * (1 + fx["pred_logits"].abs().max().item<double>()),
               "pred_logits");
  EXPECT_CLOSE(out.boxes[5], fx["pred_boxes"], 1e-4, "pred_boxes");
  // padded token columns
  EXPECT_TRUE(out.logits[5].slice(2, T, 256).eq(-std::numeric_limits<float>::infinity()).all().item<bool>());
}

}  // namespace

}  // namespace seer_test_test_grounding_dino_parity
