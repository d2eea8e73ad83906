// Bad input to BertModel: every case is a seer error with one clear line.
#include "core/error.h"
#include "encoder_fixture.h"
#include "text/bert.h"
namespace seer_test_test_bert_errors {

namespace {

using namespace seer::text;

BertModel tiny() {
  BertOptions o;
  o.vocab_size = 20;
  o.hidden_size = 8;
  o.num_layers = 1;
  o.num_heads = 2;
  o.intermediate_size = 16;
  o.max_position_embeddings = 10;
  BertModel m(o);
  m->eval();
  return m;
}

TEST(BertErrors, BadInputs) {
  auto m = tiny();
  auto ids = torch::tensor({{1, 5, 2}});
  EXPECT_SEER_ERROR(m->forward(torch::tensor({{1, 25, 2}})), "input_ids out of range [1, 25], vocab_size is 20");
  EXPECT_SEER_ERROR(m->forward(torch::tensor({{1, -1, 2}})), "input_ids out of range");
  EXPECT_SEER_ERROR(m->forward(torch::zeros({1, 0}, torch::kLong)), "empty input [1, 0]");
  EXPECT_SEER_ERROR(m->forward(torch::zeros({0, 4}, torch::kLong)), "empty input");
  EXPECT_SEER_ERROR(m->forward(torch::tensor({1, 5, 2})), "input_ids must be [B, L], got [3]");
  EXPECT_SEER_ERROR(m->forward(torch::ones({1, 3})), "integer tensor");
  EXPECT_SEER_ERROR(m->forward(ids, torch::ones({1, 4})), "attention_mask [1, 4] must be [B, L] or [B, L, L]");
  EXPECT_SEER_ERROR(m->forward(ids, torch::ones({1, 3, 2})), "attention_mask [1, 3, 2]");
  EXPECT_SEER_ERROR(m->forward(ids, torch::ones({2, 3})), "attention_mask [2, 3]");
  EXPECT_SEER_ERROR(m->forward(ids, {}, torch::tensor({{0, 2, 0}})), "token_type_ids out of range");
  EXPECT_SEER_ERROR(m->forward(ids, {}, torch::tensor({{0, 0}})), "token_type_ids [1, 2] do not match");
  EXPECT_SEER_ERROR(m->forward(ids, {}, {}, torch::tensor({0, 1})), "position_ids [2] do not match");
  EXPECT_SEER_ERROR(m->forward(ids, {}, {}, torch::tensor({0, 1, 10})), "position_ids out of range");
  EXPECT_SEER_ERROR(m->forward(torch::ones({1, 11}, torch::kLong)), "exceeds max_position_embeddings 10");
  // fine: int32 ids, bool mask, [L] position ids
  EXPECT_NO_THROW(m->forward(ids.to(torch::kInt), torch::ones({1, 3}, torch::kBool), {}, torch::tensor({0, 1, 0})));
}

TEST(BertErrors, BadWeights) {
  auto m = tiny();
  StateDict sd;
  for (const auto& kv : m->named_parameters()) sd[kv.key()] = kv.value().detach().clone();
  EXPECT_NO_THROW(m->load_weights(sd));
  auto wrong = sd;
  wrong["encoder.layer.0.attention.self.query.weight"] = torch::zeros({8, 9});
  EXPECT_SEER_ERROR(m->load_weights(wrong),
                    "weight 'encoder.layer.0.attention.self.query.weight' has shape [8, 9], the model expects [8, 8]");
  EXPECT_SEER_ERROR(m->load_weights(wrong, /*strict=*/false), "has shape [8, 9]");
  auto missing = sd;
  missing.erase("pooler.dense.bias");
  EXPECT_SEER_ERROR(m->load_weights(missing), "1 weights missing from the checkpoint: pooler.dense.bias");
  auto report = m->load_weights(missing, false);
  ASSERT_EQ(report.missing.size(), 1u);
  auto extra = sd;
  extra["cls.predictions.bias"] = torch::zeros({20});
  EXPECT_SEER_ERROR(m->load_weights(extra), "unexpected keys in the checkpoint: cls.predictions.bias");
  auto ints = sd;
  ints["pooler.dense.bias"] = torch::zeros({8}, torch::kLong);
  EXPECT_SEER_ERROR(m->load_weights(ints), "not a floating-point tensor");
}

TEST(BertErrors, BadOptions) {
  BertOptions o;
  o.num_heads = 5;
  EXPECT_SEER_ERROR(BertModel{o}, "hidden_size 768 is not a multiple of num_heads 5");
  o = BertOptions{};
  o.num_layers = 0;
  EXPECT_SEER_ERROR(BertModel{o}, "num_layers must be > 0");
}

}  // namespace

}  // namespace seer_test_test_bert_errors
