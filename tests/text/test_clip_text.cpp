// ClipTextModel against openai/CLIP's encode_text (see encoder_fixture.h for the
// commit): a small random config (argmax pooling, given end positions, inputs
// shorter than the context), the same weights under Hugging Face names, and the
// ViT-B/32 text tower with formula weights. Outputs must agree to 1e-5.
#include "core/config.h"
#include "core/error.h"
#include "encoder_fixture.h"
#include "text/clip_text.h"
namespace seer_test_test_clip_text {

namespace {

using seer::test::EncoderFixture;
using namespace seer::text;

ClipTextOptions small_options(const EncoderFixture& f) {
  auto c = f["config"];
  ClipTextOptions o;
  o.vocab_size = c[0].item<int64_t>();
  o.context_length = c[1].item<int64_t>();
  o.width = c[2].item<int64_t>();
  o.layers = c[3].item<int64_t>();
  o.heads = c[4].item<int64_t>();
  o.embed_dim = c[5].item<int64_t>();
  return o;
}

ClipTextModel load_small(const EncoderFixture& f, const std::string& prefix) {
  ClipTextModel m(small_options(f));
  auto norm = normalize_clip_text_state_dict(f.with_prefix(prefix));
  m->load_weights(norm.weights);
  m->eval();
  return m;
}

TEST(ClipText, ParameterNamesAreOpenAIs) {
  ClipTextOptions o;
  o.vocab_size = 30;
  o.context_length = 8;
  o.width = 16;
  o.layers = 2;
  o.heads = 2;
  o.embed_dim = 12;
  ClipTextModel m(o);
  auto p = m->named_parameters();
  for (const char* k : {"token_embedding.weight", "positional_embedding", "transformer.resblocks.0.attn.in_proj_weight",
                        "transformer.resblocks.0.attn.in_proj_bias", "transformer.resblocks.1.attn.out_proj.weight",
                        "transformer.resblocks.1.ln_1.weight", "transformer.resblocks.1.mlp.c_fc.weight",
                        "transformer.resblocks.1.mlp.c_proj.bias", "transformer.resblocks.0.ln_2.bias", "ln_final.weight",
                        "text_projection"})
    EXPECT_TRUE(p.contains(k)) << k;
  EXPECT_EQ(p.size(), 2u + 2u * 12u + 3u);
  EXPECT_EQ(p["text_projection"].sizes(), (std::vector<int64_t>{16, 12}));
}

TEST(ClipText, SmallMatchesReference) {
  EncoderFixture f("clip_text_small.pt");
  auto m = load_small(f, "w/");
  torch::NoGradGuard ng;
  auto out = m->forward(f["ids"]);
  EXPECT_CLOSE(out.last_hidden_state, f["last_hidden_state"], 1e-5, "clip small last_hidden_state");
  EXPECT_CLOSE(out.text_embeds, f["text_embeds"], 1e-5, "clip small text_embeds (argmax pooling)");
  auto given = m->forward(f["ids"], f["eot_given"]);
  EXPECT_CLOSE(given.text_embeds, f["text_embeds_given"], 1e-5, "clip small text_embeds (given eot positions)");
  auto shrt = m->forward(f["short/ids"]);
  EXPECT_CLOSE(shrt.last_hidden_state, f["short/last_hidden_state"], 1e-5, "clip small L=9 < context last_hidden_state");
  EXPECT_CLOSE(shrt.text_embeds, f["short/text_embeds"], 1e-5, "clip small L=9 < context text_embeds");
  auto unit = m->encode(f["ids"]);
  auto want = f["text_embeds"] / f["text_embeds"].norm(2, -1, true);
  EXPECT_CLOSE(unit, want, 1e-6, "clip small L2-normalised embeds");
  EXPECT_TRUE(torch::allclose(unit.norm(2, -1), torch::ones({unit.size(0)}), 0, 1e-6));
}

TEST(ClipText, HuggingFaceNamesGiveIdenticalOutputs) {
  EncoderFixture f("clip_text_small.pt");
  auto hf_sd = f.with_prefix("hf/");
  hf_sd["logit_scale"] = f["full/logit_scale"];
  hf_sd["visual_projection.weight"] = torch::zeros({24, 64});
  auto norm = normalize_clip_text_state_dict(hf_sd);
  EXPECT_EQ(norm.ignored.size(), 3u);  // position_ids, logit_scale, visual_projection.weight
  auto hf = load_small(f, "hf/");
  auto oa = load_small(f, "w/");
  // same tensors after the key map
  auto ph = hf->named_parameters(), po = oa->named_parameters();
  for (const auto& kv : po) EXPECT_TRUE(torch::equal(kv.value(), ph[kv.key()])) << kv.key();
  torch::NoGradGuard ng;
  auto a = hf->forward(f["ids"]), b = oa->forward(f["ids"]);
  EXPECT_TRUE(torch::equal(a.text_embeds, b.text_embeds));
  EXPECT_CLOSE(a.text_embeds, f["text_embeds"], 1e-5, "clip small from Hugging Face names");

  // a whole OpenAI CLIP checkpoint: visual tower and logit_scale ignored
  auto full = f.with_prefix("w/");
  full["logit_scale"] = f["full/logit_scale"];
  full["visual.proj"] = f["full/visual.proj"];
  full["context_length"] = torch::tensor(16);
  auto n2 = normalize_clip_text_state_dict(full);
  EXPECT_EQ(n2.ignored.size(), 3u);
  ClipTextModel m(small_options(f));
  EXPECT_NO_THROW(m->load_weights(n2.weights));

  // an incomplete q/k/v triple
  auto broken = f.with_prefix("hf/");
  broken.erase("text_model.encoder.layers.1.self_attn.k_proj.bias");
  try {
    normalize_clip_text_state_dict(broken);
    ADD_FAILURE() << "no error";
  } catch (const seer::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("lacks self_attn.k_proj for transformer.resblocks.1.attn.in_proj_bias"),
              std::string::npos)
        << e.what();
  }
}

TEST(ClipText, B32SizeFormulaWeightsMatchReference) {
  EncoderFixture f("clip_text_b32_formula.pt");
  ClipTextModel m(ClipTextOptions{});  // ViT-B/32 text tower
  m->load_weights(seer::test::formula_state(*m));
  m->eval();
  auto pe = m->named_parameters()["positional_embedding"];
  EXPECT_CLOSE(pe.slice(0, 0, 3).slice(1, 0, 5), f["probe/positional_embedding"], 0.0, "formula weights probe");
  torch::NoGradGuard ng;
  auto out = m->forward(f["ids"]);
  EXPECT_CLOSE(out.last_hidden_state, f["last_hidden_state"], 1e-5, "clip ViT-B/32 text 12x512 last_hidden_state");
  EXPECT_CLOSE(out.text_embeds, f["text_embeds"], 1e-5, "clip ViT-B/32 text 12x512 text_embeds");
}

TEST(ClipText, OptionsFromConfig) {
  auto cfg = seer::Config::from_string("text: {width: 768, heads: 12, embed_dim: 768}\n");
  auto o = ClipTextOptions::from_config(cfg.section("text"));
  EXPECT_EQ(o.width, 768);
  EXPECT_EQ(o.context_length, 77);
  cfg.check_unknown_keys();
  auto bad = seer::Config::from_string("text: {width: 100, heads: 8}\n");
  EXPECT_THROW(ClipTextOptions::from_config(bad.section("text")), seer::ConfigError);
}

}  // namespace

}  // namespace seer_test_test_clip_text
