// BertModel against the reference BERT (see encoder_fixture.h for the commit):
// a small random config with a padded 2-D mask, a Grounding DINO style 3-D
// block-diagonal mask with per-phrase position ids, a BertForPreTraining
// checkpoint (bert. prefix, heads, position_ids buffer), and bert-base shapes
// with formula weights. Outputs must agree to 1e-5.
#include "core/config.h"
#include "core/error.h"
#include "encoder_fixture.h"
#include "text/bert.h"
namespace seer_test_test_bert {

namespace {

using seer::test::EncoderFixture;
using namespace seer::text;

BertOptions small_options(const EncoderFixture& f) {
  auto c = f["config"];
  BertOptions o;
  o.vocab_size = c[0].item<int64_t>();
  o.hidden_size = c[1].item<int64_t>();
  o.num_layers = c[2].item<int64_t>();
  o.num_heads = c[3].item<int64_t>();
  o.intermediate_size = c[4].item<int64_t>();
  o.max_position_embeddings = c[5].item<int64_t>();
  o.type_vocab_size = c[6].item<int64_t>();
  return o;
}

BertModel small_model(const EncoderFixture& f) {
  BertModel m(small_options(f));
  m->load_weights(f.with_prefix("w/"));
  m->eval();
  return m;
}

TEST(BertEncoder, ParameterNamesAreHuggingFaces) {
  BertOptions o;
  o.vocab_size = 50;
  o.hidden_size = 16;
  o.num_layers = 2;
  o.num_heads = 2;
  o.intermediate_size = 32;
  BertModel m(o);
  auto p = m->named_parameters();
  for (const char* k : {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                        "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                        "encoder.layer.0.attention.self.query.weight", "encoder.layer.1.attention.self.value.bias",
                        "encoder.layer.0.attention.output.dense.weight", "encoder.layer.0.attention.output.LayerNorm.bias",
                        "encoder.layer.1.intermediate.dense.weight", "encoder.layer.1.output.dense.bias",
                        "encoder.layer.1.output.LayerNorm.weight", "pooler.dense.weight"})
    EXPECT_TRUE(p.contains(k)) << k;
  EXPECT_EQ(p.size(), 5u + 2u * 16u + 2u);
  EXPECT_NEAR(p["encoder.layer.0.attention.self.query.weight"].std().item<double>(), 0.02, 0.005);
}

TEST(BertEncoder, SmallPaddedMaskMatchesReference) {
  EncoderFixture f("bert_small.pt");
  auto m = small_model(f);
  torch::NoGradGuard ng;
  auto out = m->forward(f["mask2/ids"], f["mask2/attention_mask"], f["mask2/token_type_ids"], {}, true);
  EXPECT_CLOSE(out.last_hidden_state, f["mask2/last_hidden_state"], 1e-5, "bert small 2-D mask last_hidden_state");
  EXPECT_CLOSE(out.pooler_output, f["mask2/pooler_output"], 1e-5, "bert small 2-D mask pooler_output");
  ASSERT_EQ(out.hidden_states.size(), 3u);
  for (size_t i = 0; i < out.hidden_states.size(); ++i)
    EXPECT_CLOSE(out.hidden_states[i], f["mask2/hidden_states/" + std::to_string(i)], 1e-5,
                 "bert small hidden_states[" + std::to_string(i) + "]");
}

TEST(BertEncoder, SmallBlockDiagonalMaskAndPositionIdsMatchReference) {
  EncoderFixture f("bert_small.pt");
  auto m = small_model(f);
  torch::NoGradGuard ng;
  auto out = m->forward(f["mask3/ids"], f["mask3/attention_mask"], f["mask3/token_type_ids"], f["mask3/position_ids"]);
  EXPECT_CLOSE(out.last_hidden_state, f["mask3/last_hidden_state"], 1e-5, "bert small 3-D mask last_hidden_state");
  EXPECT_CLOSE(out.pooler_output, f["mask3/pooler_output"], 1e-5, "bert small 3-D mask pooler_output");
  // a 2-D mask of ones equals a 3-D mask of ones
  auto ids = f["mask3/ids"];
  auto a = m->forward(ids, torch::ones_like(ids)).last_hidden_state;
  auto b = m->forward(ids, torch::ones({ids.size(0), ids.size(1), ids.size(1)}, torch::kBool)).last_hidden_state;
  EXPECT_TRUE(torch::allclose(a, b, 0, 1e-6));
}

TEST(BertEncoder, PreTrainingCheckpointLoadsAfterNormalising) {
  EncoderFixture f("bert_small.pt");
  auto pt = f.with_prefix("pt/");
  pt["bert.embeddings.position_ids"] = torch::arange(40).unsqueeze(0);  // the buffer of newer HF checkpoints
  BertModel m(small_options(f));
  EXPECT_THROW(m->load_weights(pt), seer::RuntimeError);  // raw keys: nothing matches
  auto norm = normalize_bert_state_dict(pt);
  size_t heads = 0;
  for (const auto& k : norm.ignored) heads += k.compare(0, 4, "cls.") == 0;
  EXPECT_GT(heads, 0u);
  EXPECT_NE(std::find(norm.ignored.begin(), norm.ignored.end(), "bert.embeddings.position_ids"), norm.ignored.end());
  auto report = m->load_weights(norm.weights);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  m->eval();
  torch::NoGradGuard ng;
  auto out = m->forward(f["mask2/ids"], f["mask2/attention_mask"], f["mask2/token_type_ids"]);
  EXPECT_CLOSE(out.last_hidden_state, f["mask2/last_hidden_state"], 1e-5, "bert from BertForPreTraining keys");

  // TF-era LayerNorm names and a DataParallel prefix, without pooler
  seer::text::StateDict tf;
  for (const auto& kv : f.with_prefix("w/")) {
    std::string k = "module." + kv.first;
    if (k.find("LayerNorm.weight") != std::string::npos) k.replace(k.size() - 6, 6, "gamma");
    if (k.find("LayerNorm.bias") != std::string::npos) k.replace(k.size() - 4, 4, "beta");
    tf[k] = kv.second;
  }
  auto o = small_options(f);
  o.add_pooler = false;
  BertModel np(o);
  auto n2 = normalize_bert_state_dict(tf, /*with_pooler=*/false);
  EXPECT_EQ(n2.ignored.size(), 2u);  // pooler.dense.{weight,bias}
  np->load_weights(n2.weights);
  np->eval();
  auto out2 = np->forward(f["mask2/ids"], f["mask2/attention_mask"], f["mask2/token_type_ids"]);
  EXPECT_FALSE(out2.pooler_output.defined());
  EXPECT_CLOSE(out2.last_hidden_state, f["mask2/last_hidden_state"], 1e-5, "bert from gamma/beta keys");
}

TEST(BertEncoder, BaseSizeFormulaWeightsMatchReference) {
  EncoderFixture f("bert_base_formula.pt");
  BertModel m(BertOptions{});  // bert-base-uncased
  m->load_weights(seer::test::formula_state(*m));
  m->eval();
  auto we = m->named_parameters()["embeddings.word_embeddings.weight"];
  EXPECT_CLOSE(we.slice(0, 0, 3).slice(1, 0, 5), f["probe/word_embeddings"], 0.0, "formula weights probe");
  torch::NoGradGuard ng;
  auto out = m->forward(f["ids"], f["attention_mask"], f["token_type_ids"]);
  EXPECT_CLOSE(out.last_hidden_state, f["last_hidden_state"], 1e-5, "bert-base 12x768 last_hidden_state");
  EXPECT_CLOSE(out.pooler_output, f["pooler_output"], 1e-5, "bert-base 12x768 pooler_output");
}

TEST(BertEncoder, OptionsFromConfig) {
  auto cfg = seer::Config::from_string("text_encoder: {num_layers: 6, hidden_size: 64, num_heads: 4}\n");
  auto o = BertOptions::from_config(cfg.section("text_encoder"));
  EXPECT_EQ(o.num_layers, 6);
  EXPECT_EQ(o.hidden_size, 64);
  EXPECT_EQ(o.vocab_size, 30522);
  EXPECT_DOUBLE_EQ(o.layer_norm_eps, 1e-12);
  cfg.check_unknown_keys();
  auto bad = seer::Config::from_string("text_encoder: {hidden_size: 64, num_heads: 5}\n");
  EXPECT_THROW(BertOptions::from_config(bad.section("text_encoder")), seer::ConfigError);
  auto typo = seer::Config::from_string("text_encoder: {num_layer: 6}\n");
  BertOptions::from_config(typo.section("text_encoder"));
  EXPECT_THROW(typo.check_unknown_keys(), seer::ConfigError);
}

}  // namespace

}  // namespace seer_test_test_bert
