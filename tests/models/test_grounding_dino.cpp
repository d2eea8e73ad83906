// Grounding DINO: the text side (captions, sub-sentence masks, positive maps,
// phrases, chunks), the model's module tree and forward contracts, the loss,
// prompts and bad input. Parity with the official code is in
// test_grounding_dino_parity.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "core/checkpoint.h"
#include "core/config.h"
#include "core/error.h"
#include "models/grounding_dino/grounding_dino.h"
#include "models/grounding_dino/text_prompt.h"
#include "test_util.h"
#include "train/optimizer.h"

namespace seer_test_test_grounding_dino {

namespace {

using namespace seer;
using seer::test::data_file;

const char* kVocab = "tokenizers/bert-base-uncased-vocab.txt";

std::vector<int64_t> to_vec(const torch::Tensor& t) {
  auto c = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// A tiny model: ResNet-18, width 64, a 1-layer BERT of width 32. `extra`:
// further top-level sections, or (starting with two spaces) model keys.
std::string tiny_yaml(const std::string& vocab, const std::string& extra = "") {
  const bool model_keys = extra.rfind("  ", 0) == 0;
  return "model:\n"
         "  type: grounding_dino\n" + (model_keys ? extra : std::string()) +
         "  backbone: {type: resnet, depth: 18, norm: batch_norm, frozen_stages: 0}\n"
         "  hidden_dim: 64\n  nheads: 4\n  enc_layers: 1\n  dec_layers: 2\n  dim_feedforward: 128\n"
         "  num_queries: 20\n"
         "  text_encoder: {vocab: '" + vocab + "', hidden_size: 32, num_layers: 1, num_heads: 2, intermediate_size: 64}\n" +
         (model_keys ? std::string() : extra);
}

std::shared_ptr<GroundingDino> tiny_model(const std::string& vocab, CategoryTable cats = {}, const std::string& extra = "") {
  auto cfg = Config::from_string(tiny_yaml(vocab, extra));
  auto spec = read_model_spec(cfg.root());
  cfg.check_unknown_keys();
  auto m = std::dynamic_pointer_cast<GroundingDino>(spec.build(cats));
  return m;
}

CategoryTable shapes() {
  CategoryTable c;
  c.add(1, "circle");
  c.add(2, "square");
  c.add(3, "remote control");
  return c;
}

TEST(GroundingDinoText, ClassCaptionAndSpans) {
  auto c = gdino::build_class_caption({"Cat", "remote  control", "person"});
  EXPECT_EQ(c.caption, "cat . remote control . person .");
  ASSERT_EQ(c.spans.size(), 3u);
  EXPECT_EQ(c.spans[0], (std::vector<Span>{{0, 3}}));
  EXPECT_EQ(c.spans[1], (std::vector<Span>{{6, 12}, {13, 20}}));
  EXPECT_EQ(c.spans[2], (std::vector<Span>{{23, 29}}));
  EXPECT_EQ(gdino::preprocess_caption("  A Cat "), "a cat.");
  EXPECT_EQ(gdino::preprocess_caption("a cat ."), "a cat .");
}

TEST(GroundingDinoText, MasksEqualTheOfficialLoopForOneCaption) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  text::WordPieceTokenizer tok(vocab);
  auto in = gdino::tokenize_captions(tok, {"cat . remote control . person in red ."});
  // [CLS] cat . remote control . person in red . [SEP]
  ASSERT_EQ(in.length(), 11);
  auto [mask, pos] = gdino::official_batch_masks(in.input_ids, gdino::special_token_ids(tok));
  EXPECT_TRUE(torch::equal(mask, in.self_attention_mask));
  EXPECT_TRUE(torch::equal(pos, in.position_ids));
  EXPECT_EQ(to_vec(in.position_ids[0]), std::vector<int64_t>({0, 0, 1, 0, 1, 2, 0, 1, 2, 3, 0}));
  // "remote control ." is one block: rows 3..5, columns 3..5
  auto m = in.self_attention_mask[0];
  EXPECT_TRUE(m.slice(0, 3, 6).slice(1, 3, 6).all().item<bool>());
  EXPECT_FALSE(m[3][1].item<bool>());
  EXPECT_FALSE(m[0][1].item<bool>());   // [CLS] only sees itself
  EXPECT_FALSE(m[10][9].item<bool>());  // the final [SEP] too
  EXPECT_TRUE(in.token_mask.all().item<bool>());
}

TEST(GroundingDinoText, ABatchGivesEveryCaptionItsOwnMasks) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  text::WordPieceTokenizer tok(vocab);
  // A caption without a final '.' (grounding data may have one): in the padded
  // batch its [SEP] is not in the last column.
  auto both = gdino::tokenize_captions(tok, {"cat . remote control . person .", "dog"});
  auto alone = gdino::tokenize_captions(tok, {"dog"});
  const int64_t n = alone.length();  // [CLS] dog [SEP]
  ASSERT_EQ(n, 3);
  EXPECT_TRUE(torch::equal(both.self_attention_mask[1].slice(0, 0, n).slice(1, 0, n), alone.self_attention_mask[0]));
  EXPECT_TRUE(torch::equal(both.position_ids[1].slice(0, 0, n), alone.position_ids[0]));
  EXPECT_EQ(both.token_mask[1].sum().item<int64_t>(), n);
  // The official loop over the padded batch puts that [SEP] into the phrase
  // before it (the quirk seer reproduces for batch 1 only, where it cannot occur).
  auto [mask, pos] = gdino::official_batch_masks(both.input_ids, gdino::special_token_ids(tok));
  EXPECT_TRUE(mask[1][2][1].item<bool>());
  EXPECT_EQ(pos[1][2].item<int64_t>(), 1);
  EXPECT_FALSE(both.self_attention_mask[1][2][1].item<bool>());
  EXPECT_EQ(both.position_ids[1][2].item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(mask[0], both.self_attention_mask[0]));
}

TEST(GroundingDinoText, TruncationKeepsTheBlocksOfTheFullCaption) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  text::WordPieceTokenizer tok(vocab);
  gdino::TokenizeOptions o;
  o.max_text_len = 5;
  auto in = gdino::tokenize_captions(tok, {"cat . remote control . person ."}, o);
  auto full = gdino::tokenize_captions(tok, {"cat . remote control . person ."});
  EXPECT_EQ(in.length(), 5);
  EXPECT_TRUE(torch::equal(in.self_attention_mask[0], full.self_attention_mask[0].slice(0, 0, 5).slice(1, 0, 5)));
  EXPECT_EQ(in.encodings[0].size(), 5);
  EXPECT_EQ(in.encodings[0].num_truncated, full.length() - 5);
  EXPECT_THROW(gdino::tokenize_captions(tok, {}), RuntimeError);
}

TEST(GroundingDinoText, PositiveMapsFromSpans) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  text::WordPieceTokenizer tok(vocab);
  auto c = gdino::build_class_caption({"cat", "remote control"});
  auto in = gdino::tokenize_captions(tok, {c.caption});
  auto pm = gdino::positive_map(in.encodings[0], c.spans, 256, false);
  ASSERT_EQ(pm.sizes(), (std::vector<int64_t>{2, 256}));
  EXPECT_EQ(to_vec(pm[0].nonzero().squeeze(1)), std::vector<int64_t>({1}));
  EXPECT_EQ(to_vec(pm[1].nonzero().squeeze(1)), std::vector<int64_t>({3, 4}));
  auto norm = gdino::positive_map(in.encodings[0], c.spans);
  EXPECT_NEAR(norm[1][3].item<float>(), 0.5 / (1 + 5e-7), 1e-6);
  // a span cut off by truncation has no tokens
  auto [a, b] = gdino::span_to_tokens(in.encodings[0], {100, 104});
  EXPECT_EQ(a, -1);
  EXPECT_EQ(b, -1);
}

TEST(GroundingDinoText, PhrasesAsTheOfficialDecode) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  text::WordPieceTokenizer tok(vocab);
  auto in = gdino::tokenize_captions(tok, {"a playstation controller . red cat ."});
  const auto& e = in.encodings[0];
  std::vector<std::string> pieces(e.tokens.begin(), e.tokens.end());
  auto scores = torch::zeros({256});
  for (int64_t t = 0; t < e.size(); ++t) scores[t] = 0.9;
  // [CLS] dropped (left 0), '.' removed, [SEP] kept, "##" joined
  auto phrase = gdino::phrase_from_scores(tok, e, scores, 0.25);
  EXPECT_EQ(phrase, "a playstation controller red cat [SEP]") << ::testing::PrintToString(pieces);
  EXPECT_EQ(gdino::decode_tokens(tok, {tok.token_to_id("it"), tok.token_to_id("'"), tok.token_to_id("s"),
                                       tok.token_to_id(",")}),
            "it's,");
}

TEST(GroundingDinoText, LongVocabulariesRunInChunks) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  text::WordPieceTokenizer tok(vocab);
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) names.push_back("class number " + std::to_string(i));
  auto chunks = gdino::chunk_class_names(tok, names, 256);
  ASSERT_GT(chunks.size(), 1u);
  EXPECT_EQ(chunks.front().first, 0);
  EXPECT_EQ(chunks.back().second, 200);
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i) EXPECT_EQ(chunks[i].first, chunks[i - 1].second);
    std::vector<std::string> part(names.begin() + chunks[i].first, names.begin() + chunks[i].second);
    auto in = gdino::tokenize_captions(tok, {gdino::build_class_caption(part).caption});
    EXPECT_LE(in.encodings[0].size(), 256);
    EXPECT_EQ(in.encodings[0].num_truncated, 0);
  }
  std::string huge(600, 'a');
  for (size_t i = 1; i < huge.size(); i += 2) huge[i] = ' ';
  try {
    gdino::chunk_class_names(tok, {"cat", huge}, 256);
    FAIL() << "expected a RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("over the text budget of 256"), std::string::npos) << e.what();
  }
}

TEST(GroundingDinoModel, OfficialModuleTreeAndSharedBoxHead) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  auto m = tiny_model(vocab, shapes());
  auto sd = module_state_dict(*m);
  for (const char* k : {"backbone.0.conv1.weight", "bert.embeddings.word_embeddings.weight", "feat_map.weight",
                        "input_proj.0.0.weight", "input_proj.3.1.weight", "transformer.level_embed",
                        "transformer.tgt_embed.weight", "transformer.enc_output.weight", "transformer.enc_output_norm.bias",
                        "transformer.enc_out_bbox_embed.layers.2.bias",
                        "transformer.encoder.layers.0.self_attn.sampling_offsets.weight",
                        "transformer.encoder.text_layers.0.self_attn.in_proj_weight",
                        "transformer.encoder.fusion_layers.0.gamma_v",
                        "transformer.encoder.fusion_layers.0.attn.values_l_proj.weight",
                        "transformer.decoder.layers.1.ca_text.out_proj.weight", "transformer.decoder.layers.1.catext_norm.weight",
                        "transformer.decoder.norm.weight", "transformer.decoder.ref_point_head.layers.1.weight",
                        "transformer.decoder.bbox_embed.1.layers.0.weight", "bbox_embed.0.layers.2.weight",
                        "bbox_embed.1.layers.2.weight"})
    EXPECT_TRUE(sd.contains(k)) << k;
  // one tensor under the 4 names of the shared head
  auto p = sd["bbox_embed.0.layers.0.weight"];
  EXPECT_TRUE(sd["bbox_embed.1.layers.0.weight"].is_same(p));
  EXPECT_TRUE(sd["transformer.decoder.bbox_embed.0.layers.0.weight"].is_same(p));
  EXPECT_FALSE(sd["transformer.enc_out_bbox_embed.layers.0.weight"].is_same(p));
  // the pooler never trains
  EXPECT_FALSE(sd["bert.pooler.dense.weight"].requires_grad());
  // the optimizer takes the shared tensors once
  OptimizerOptions oo;
  Optimizer opt(*m, oo);
  std::set<const void*> uniq;
  int64_t listed = 0;
  for (const auto& kv : m->named_parameters())
    if (kv.value().requires_grad()) {
      ++listed;
      uniq.insert(kv.value().unsafeGetTensorImpl());
    }
  int64_t in_opt = 0;
  for (size_t g = 0; g < opt.groups().size(); ++g) in_opt += static_cast<int64_t>(opt.groups()[g].param_names.size());
  EXPECT_EQ(in_opt, static_cast<int64_t>(uniq.size()));
  EXPECT_GT(listed, in_opt);
}

TEST(GroundingDinoModel, ForwardShapesPaddingAndBatchEqualsSingle) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  torch::manual_seed(0);
  auto m = tiny_model(vocab, shapes());
  m->eval();
  torch::NoGradGuard ng;
  auto images = torch::randn({2, 3, 96, 128});
  auto mask = torch::zeros({2, 96, 128}, torch::kBool);
  mask[1].slice(0, 64, 96).fill_(true);
  mask[1].slice(1, 100, 128).fill_(true);
  std::vector<std::string> caps = {"cat . remote control .", "a red circle ."};
  auto both = m->forward(images, mask, m->encode_text(m->tokenize(caps)));
  ASSERT_EQ(both.logits.sizes(), (std::vector<int64_t>{2, 2, 20, 256}));
  ASSERT_EQ(both.boxes.sizes(), (std::vector<int64_t>{2, 2, 20, 4}));
  EXPECT_EQ(both.interm_logits.sizes(), (std::vector<int64_t>{2, 20, 256}));
  // padded token columns are -inf, real ones finite
  const int64_t n1 = m->tokenize({caps[1]}).length();
  EXPECT_TRUE(torch::isfinite(both.logits[1][1].slice(1, 0, n1)).all().item<bool>());
  EXPECT_TRUE(both.logits[1][1].slice(1, n1, 256).eq(-std::numeric_limits<float>::infinity()).all().item<bool>());
  EXPECT_EQ(both.text_mask[1].sum().item<int64_t>(), n1);
  for (int64_t i = 0; i < 2; ++i) {
    // each image alone, cropped to its own valid region's padded size (same batch size here)
    auto one = m->forward(images.slice(0, i, i + 1), mask.slice(0, i, i + 1), m->encode_text(m->tokenize({caps[i]})));
    const int64_t n = m->tokenize({caps[i]}).length();
    EXPECT_TRUE(torch::allclose(one.logits[1][0].slice(1, 0, n), both.logits[1][i].slice(1, 0, n), 1e-4, 1e-4)) << i;
    EXPECT_TRUE(torch::allclose(one.boxes[1][0], both.boxes[1][i], 1e-4, 1e-5)) << i;
  }
}

TEST(GroundingDinoModel, LossTermsAndBackward) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  torch::manual_seed(1);
  auto m = tiny_model(vocab, shapes());
  m->train();
  Batch b;
  b.images = torch::randn({2, 3, 96, 96});
  b.pad_mask = torch::zeros({2, 96, 96}, torch::kBool);
  for (int i = 0; i < 2; ++i) {
    Target t;
    t.boxes = torch::tensor({{10.f, 10.f, 50.f, 60.f}, {40.f, 30.f, 90.f, 90.f}});
    t.labels = torch::tensor({0, 2}, torch::kLong);
    t.iscrowd = torch::zeros({2}, torch::kUInt8);
    t.size = {96, 96};
    t.orig_size = {96, 96};
    t.file_name = "img" + std::to_string(i);
    if (i == 1) {  // a grounding caption with spans
      t.caption = "a round thing . a remote control .";
      t.tokens_positive = {{{2, 13}}, {{18, 32}}};
    }
    b.targets.push_back(t);
  }
  auto losses = m->loss(b);
  for (const char* k : {"loss_ce", "loss_bbox", "loss_giou", "loss_ce_0", "loss_giou_0", "loss_ce_interm",
                        "loss_bbox_interm", "loss_giou_interm"})
    EXPECT_TRUE(losses.contains(k)) << k;
  torch::Tensor total = torch::zeros({});
  for (const auto& kv : losses)
    if (kv.key().rfind("log/", 0) != 0) {
      EXPECT_TRUE(torch::isfinite(kv.value()).item<bool>()) << kv.key();
      total = total + kv.value();
    }
  total.backward();
  auto sd = module_state_dict(*m);
  for (const char* k : {"bert.encoder.layer.0.attention.self.query.weight", "transformer.tgt_embed.weight",
                        "transformer.encoder.fusion_layers.0.gamma_l", "bbox_embed.0.layers.2.weight",
                        "transformer.enc_out_bbox_embed.layers.2.weight", "feat_map.weight"}) {
    ASSERT_TRUE(sd[k].grad().defined()) << k;
    EXPECT_GT(sd[k].grad().abs().sum().item<double>(), 0) << k;
  }
}

TEST(GroundingDinoModel, BadTargetsAndPromptsAreOneLineErrors) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  auto m = tiny_model(vocab, shapes());
  Batch b;
  b.images = torch::randn({1, 3, 64, 64});
  b.pad_mask = torch::zeros({1, 64, 64}, torch::kBool);
  Target t;
  t.boxes = torch::tensor({{1.f, 1.f, 20.f, 20.f}});
  t.labels = torch::tensor({0}, torch::kLong);
  t.iscrowd = torch::zeros({1}, torch::kUInt8);
  t.size = {64, 64};
  t.file_name = "x.jpg";
  t.caption = "a cat .";
  t.tokens_positive = {{{2, 40}}};
  b.targets.push_back(t);
  try {
    m->loss(b);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "Grounding DINO: image 'x.jpg' box 0: span [2, 40) is outside its caption of 7 characters");
  }
  b.targets[0].tokens_positive.clear();
  EXPECT_THROW(m->loss(b), RuntimeError);
  EXPECT_THROW(m->check_prompt("   "), UsageError);
  EXPECT_THROW(m->check_prompt(" . ? ."), UsageError);
  std::string long_phrase;
  for (int i = 0; i < 300; ++i) long_phrase += "cat ";
  try {
    m->check_prompt(long_phrase);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no ' . ' separators"), std::string::npos) << e.what();
  }
  std::string many;
  for (int i = 0; i < 120; ++i) many += "class " + std::to_string(i) + " . ";
  EXPECT_NO_THROW(m->check_prompt(many));
  EXPECT_GT(m->prompt_chunks(many).size(), 1u);
}

TEST(GroundingDinoModel, PredictByCategoriesAndByCaption) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  torch::manual_seed(2);
  auto m = tiny_model(vocab, shapes(), "predict: {num_select: 7}\n");
  m->eval();
  Batch b;
  b.images = torch::randn({2, 3, 64, 80});
  b.pad_mask = torch::zeros({2, 64, 80}, torch::kBool);
  for (int i = 0; i < 2; ++i) {
    Target t;
    t.size = {64, 80};
    t.orig_size = {128, 160};
    t.image_id = 10 + i;
    if (i == 1) t.caption = "a red circle . a square";
    b.targets.push_back(t);
  }
  auto preds = m->predict(b);
  ASSERT_EQ(preds.size(), 2u);
  EXPECT_EQ(preds[0].scores.size(0), 7);  // top num_select (query, category) pairs
  EXPECT_TRUE(preds[0].phrases.empty());
  EXPECT_GE(preds[0].labels.min().item<int64_t>(), 0);
  EXPECT_LT(preds[0].labels.max().item<int64_t>(), 3);
  EXPECT_EQ(preds[0].image_id, 10);
  EXPECT_EQ(preds[1].scores.size(0), 20);  // every query, best first
  EXPECT_EQ(preds[1].phrases.size(), 20u);
  EXPECT_TRUE(torch::equal(preds[1].scores, std::get<0>(preds[1].scores.sort(0, true))));
  EXPECT_LE(preds[1].boxes.max().item<float>(), 160.f + 1e-3);
  // the prompt's text features are cached: a second call encodes nothing
  const auto hits = m->text_cache_hits();
  m->predict(b);
  EXPECT_EQ(m->text_cache_hits(), hits + 2);
}

TEST(GroundingDinoModel, VocabulariesOverTheBudgetRunInChunks) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  torch::manual_seed(4);
  CategoryTable many;
  for (int i = 0; i < 120; ++i) many.add(i + 1, "class number " + std::to_string(i));
  auto m = tiny_model(vocab, many, "predict: {num_select: 50}\n");
  m->eval();
  Batch b;
  b.images = torch::randn({1, 3, 64, 64});
  b.pad_mask = torch::zeros({1, 64, 64}, torch::kBool);
  Target t;
  t.size = {64, 64};
  t.orig_size = {64, 64};
  b.targets.push_back(t);
  auto p = m->predict(b).at(0);
  EXPECT_EQ(p.scores.size(0), 50);
  EXPECT_TRUE(torch::equal(p.scores, std::get<0>(p.scores.sort(0, true))));
  EXPECT_GE(p.labels.min().item<int64_t>(), 0);
  EXPECT_LT(p.labels.max().item<int64_t>(), 120);
  // 120 names of 4 tokens each do not fit one caption: every chunk ran once
  const auto hits = m->text_cache_hits();
  m->predict(b);
  EXPECT_GE(m->text_cache_hits() - hits, 2);
}

TEST(GroundingDinoModel, FreezeByConfig) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  auto m = tiny_model(vocab, shapes(), "  freeze: [backbone, text_encoder]\n");
  for (const auto& kv : m->named_parameters()) {
    const bool frozen = kv.key().rfind("backbone.0.", 0) == 0 || kv.key().rfind("bert.", 0) == 0;
    EXPECT_EQ(kv.value().requires_grad(), !frozen) << kv.key();
  }
  auto cfg = Config::from_string(tiny_yaml(vocab, "  freeze: [transformer.decoderr.]\n"));
  auto spec = read_model_spec(cfg.root());
  try {
    spec.build(shapes());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.freeze: 'transformer.decoderr.' is the prefix of no parameter"),
              std::string::npos)
        << e.what();
  }
}

TEST(GroundingDinoModel, ExportFormsEqualTheForward) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  torch::manual_seed(3);
  auto m = tiny_model(vocab, shapes());
  m->eval();
  torch::NoGradGuard ng;
  auto images = torch::randn({1, 3, 64, 64});
  auto mask = torch::zeros({1, 64, 64}, torch::kBool);
  auto ref = m->forward(images, mask, m->encode_text(m->tokenize({"circle . square ."})));
  EXPECT_EQ(m->export_input_names().size(), 6u);
  // open: token tensors padded to max_text_len
  auto in = m->example_inputs(64, 64);
  ASSERT_EQ(in.size(), 6u);
  EXPECT_EQ(in[2].size(1), 256);
  auto t = m->tokenize({"circle . square ."});
  auto pad = [](const torch::Tensor& x, int64_t v) {
    auto out = torch::full({1, 256}, v, x.options());
    out.slice(1, 0, x.size(1)).copy_(x);
    return out;
  };
  auto sa = torch::eye(256, torch::kBool).unsqueeze(0).clone();
  sa.slice(1, 0, 6).slice(2, 0, 6).copy_(t.self_attention_mask);
  auto open = m->forward_tensors({images, mask, pad(t.input_ids, 0), pad(t.token_mask, 0), pad(t.position_ids, 0), sa});
  EXPECT_TRUE(torch::allclose(open[0].slice(2, 0, 6), ref.logits[1].slice(2, 0, 6), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(open[1], ref.boxes[1], 1e-5, 1e-5));
  // closed: the prompt baked in
  m->set_export_prompt("circle . square .");
  EXPECT_EQ(m->export_input_names(), (std::vector<std::string>{"images", "mask"}));
  auto closed = m->forward_tensors({images, mask});
  EXPECT_TRUE(torch::allclose(closed[0].slice(2, 0, 6), ref.logits[1].slice(2, 0, 6), 1e-5, 1e-5));
  EXPECT_TRUE(torch::isinf(closed[0].slice(2, 6, 256)).all().item<bool>());
  m->set_export_prompt("");
  EXPECT_EQ(m->export_input_names().size(), 6u);
}

}  // namespace

}  // namespace seer_test_test_grounding_dino
