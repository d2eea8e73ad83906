// Bad input to ClipTextModel: every case is a seer error with one clear line.
#include "core/error.h"
#include "encoder_fixture.h"
#include "text/clip_text.h"
namespace seer_test_test_clip_text_errors {

namespace {

using namespace seer::text;

ClipTextModel tiny() {
  ClipTextOptions o;
  o.vocab_size = 20;
  o.context_length = 6;
  o.width = 8;
  o.layers = 1;
  o.heads = 2;
  o.embed_dim = 4;
  ClipTextModel m(o);
  m->eval();
  return m;
}

TEST(ClipTextErrors, BadInputs) {
  auto m = tiny();
  auto ids = torch::tensor({{18, 5, 19}});
  EXPECT_SEER_ERROR(m->forward(torch::tensor({{18, 20, 19}})), "input_ids out of range [18, 20], vocab_size is 20");
  EXPECT_SEER_ERROR(m->forward(torch::zeros({1, 0}, torch::kLong)), "empty input [1, 0]");
  EXPECT_SEER_ERROR(m->forward(torch::zeros({1, 7}, torch::kLong)), "sequence length 7 exceeds context_length 6");
  EXPECT_SEER_ERROR(m->forward(torch::tensor({18, 19})), "input_ids must be [B, L], got [2]");
  EXPECT_SEER_ERROR(m->forward(ids, torch::tensor({1, 2})), "eot_positions [2] must be [1]");
  EXPECT_SEER_ERROR(m->forward(ids, torch::tensor({3})), "eot_positions must lie in [0, 3)");
  EXPECT_SEER_ERROR(m->forward(torch::ones({1, 3})), "integer tensor");
  EXPECT_NO_THROW(m->forward(ids, torch::tensor({2})));
}

TEST(ClipTextErrors, BadWeights) {
  auto m = tiny();
  StateDict sd;
  for (const auto& kv : m->named_parameters()) sd[kv.key()] = kv.value().detach().clone();
  EXPECT_NO_THROW(m->load_weights(sd));
  auto wrong = sd;
  wrong["text_projection"] = torch::zeros({4, 8});  // HF orientation without the key map
  EXPECT_SEER_ERROR(m->load_weights(wrong), "weight 'text_projection' has shape [4, 8], the model expects [8, 4]");
  auto missing = sd;
  missing.erase("ln_final.bias");
  EXPECT_SEER_ERROR(m->load_weights(missing), "weights missing from the checkpoint: ln_final.bias");
  ClipTextOptions o;
  o.heads = 7;
  EXPECT_SEER_ERROR(ClipTextModel{o}, "width 512 is not a multiple of heads 7");
}

}  // namespace

}  // namespace seer_test_test_clip_text_errors
