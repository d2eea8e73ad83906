#include "text/bert.h"

#include <cmath>
#include <limits>

#include "core/config.h"
#include "core/error.h"

namespace seer::text {

namespace {

// transformers' erf form of GELU (hidden_act "gelu").
torch::Tensor gelu_erf(const torch::Tensor& x) { return x * 0.5 * (1.0 + torch::erf(x / std::sqrt(2.0))); }

}  // namespace

// ---------------------------------------------------------------- options

BertOptions BertOptions::from_config(const ConfigSection& s) {
  BertOptions o;
  o.vocab_size = s.get<int64_t>("vocab_size", o.vocab_size, "BERT vocabulary size");
  o.hidden_size = s.get<int64_t>("hidden_size", o.hidden_size, "BERT hidden size");
  o.num_layers = s.get<int64_t>("num_layers", o.num_layers, "BERT encoder layers (VG-LAW uses 6)");
  o.num_heads = s.get<int64_t>("num_heads", o.num_heads, "BERT attention heads");
  o.intermediate_size = s.get<int64_t>("intermediate_size", o.intermediate_size, "BERT feed-forward size");
  o.max_position_embeddings =
      s.get<int64_t>("max_position_embeddings", o.max_position_embeddings, "BERT position table size");
  o.type_vocab_size = s.get<int64_t>("type_vocab_size", o.type_vocab_size, "BERT token type (segment) count");
  o.layer_norm_eps = s.get<double>("layer_norm_eps", o.layer_norm_eps, "BERT LayerNorm epsilon");
  o.hidden_dropout = s.get<double>("hidden_dropout", o.hidden_dropout, "BERT dropout on hidden states (training)");
  o.attention_dropout =
      s.get<double>("attention_dropout", o.attention_dropout, "BERT dropout on attention probabilities (training)");
  o.add_pooler = s.get<bool>("add_pooler", o.add_pooler, "build BERT's pooler (tanh(dense(h[CLS])))");
  try {
    o.validate();
  } catch (const RuntimeError& e) {
    s.fail("num_heads", e.what());
  }
  return o;
}

void BertOptions::validate() const {
  require_positive("bert", vocab_size, "vocab_size");
  require_positive("bert", hidden_size, "hidden_size");
  require_positive("bert", num_layers, "num_layers");
  require_positive("bert", num_heads, "num_heads");
  require_positive("bert", intermediate_size, "intermediate_size");
  require_positive("bert", max_position_embeddings, "max_position_embeddings");
  require_positive("bert", type_vocab_size, "type_vocab_size");
  if (hidden_size % num_heads != 0)
    throw RuntimeError("bert: hidden_size " + std::to_string(hidden_size) + " is not a multiple of num_heads " +
                       std::to_string(num_heads));
}

// ---------------------------------------------------------------- layer

BertLayerImpl::BertLayerImpl(const BertOptions& o) : heads_(o.num_heads), head_dim_(o.hidden_size / o.num_heads) {
  const int64_t h = o.hidden_size;
  auto attention = scope(*this, "attention");
  auto self = scope(*attention, "self");
  query_ = self->register_module("query", torch::nn::Linear(h, h));
  key_ = self->register_module("key", torch::nn::Linear(h, h));
  value_ = self->register_module("value", torch::nn::Linear(h, h));
  auto attn_out = scope(*attention, "output");
  attn_dense_ = attn_out->register_module("dense", torch::nn::Linear(h, h));
  attn_norm_ = attn_out->register_module("LayerNorm", layer_norm(h, o.layer_norm_eps));
  inter_dense_ = scope(*this, "intermediate")->register_module("dense", torch::nn::Linear(h, o.intermediate_size));
  auto out = scope(*this, "output");
  out_dense_ = out->register_module("dense", torch::nn::Linear(o.intermediate_size, h));
  out_norm_ = out->register_module("LayerNorm", layer_norm(h, o.layer_norm_eps));
  hidden_drop_ = register_module("hidden_dropout", torch::nn::Dropout(o.hidden_dropout));
  attn_drop_ = register_module("attention_dropout", torch::nn::Dropout(o.attention_dropout));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask) {
  const int64_t B = x.size(0), L = x.size(1);
  auto split = [&](const torch::Tensor& t) { return t.view({B, L, heads_, head_dim_}).transpose(1, 2); };
  auto q = split(query_(x)), k = split(key_(x)), v = split(value_(x));  // [B, heads, L, d]
  // scores divided after the product, as the reference does
  auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(head_dim_));  // [B, heads, L, L]
  auto probs = attn_drop_(torch::softmax(scores + additive_mask, -1));
  auto context = torch::matmul(probs, v).transpose(1, 2).reshape({B, L, heads_ * head_dim_});  // [B, L, H]
  auto h = attn_norm_(hidden_drop_(attn_dense_(context)) + x);
  auto ff = out_dense_(gelu_erf(inter_dense_(h)));
  return out_norm_(hidden_drop_(ff) + h);
}

// ---------------------------------------------------------------- model

BertModelImpl::BertModelImpl(const BertOptions& options) : options_(options) {
  options_.validate();
  const auto& o = options_;
  auto emb = scope(*this, "embeddings");
  word_embeddings_ = emb->register_module("word_embeddings", torch::nn::Embedding(o.vocab_size, o.hidden_size));
  position_embeddings_ =
      emb->register_module("position_embeddings", torch::nn::Embedding(o.max_position_embeddings, o.hidden_size));
  token_type_embeddings_ =
      emb->register_module("token_type_embeddings", torch::nn::Embedding(o.type_vocab_size, o.hidden_size));
  embed_norm_ = emb->register_module("LayerNorm", layer_norm(o.hidden_size, o.layer_norm_eps));
  embed_drop_ = emb->register_module("dropout", torch::nn::Dropout(o.hidden_dropout));
  auto encoder = scope(*this, "encoder");
  auto layer_list = scope(*encoder, "layer");
  for (int64_t i = 0; i < o.num_layers; ++i)
    layers_.push_back(layer_list->register_module(std::to_string(i), BertLayer(o)));
  if (o.add_pooler)
    pooler_dense_ = scope(*this, "pooler")->register_module("dense", torch::nn::Linear(o.hidden_size, o.hidden_size));
  // BERT's initialisation: N(0, 0.02) weights, zero biases, LayerNorm 1 / 0.
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const auto& name = p.key();
    if (name.find("LayerNorm") != std::string::npos)
      p.value().fill_(name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0 ? 1.0 : 0.0);
    else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0)
      p.value().zero_();
    else
      p.value().normal_(0.0, 0.02);
  }
}

BertOutput BertModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                  const torch::Tensor& token_type_ids, const torch::Tensor& position_ids,
                                  bool output_hidden_states) {
  const auto& o = options_;
  if (!input_ids.defined() || input_ids.dim() != 2)
    throw RuntimeError("bert: input_ids must be [B, L], got " + shape_str(input_ids));
  if (input_ids.scalar_type() != torch::kLong && input_ids.scalar_type() != torch::kInt)
    throw RuntimeError("bert: input_ids must be an integer tensor");
  const int64_t B = input_ids.size(0), L = input_ids.size(1);
  if (B == 0 || L == 0) throw RuntimeError("bert: empty input " + shape_str(input_ids) + " (no tokens to encode)");
  if (L > o.max_position_embeddings && !position_ids.defined())
    throw RuntimeError("bert: sequence length " + std::to_string(L) + " exceeds max_position_embeddings " +
                       std::to_string(o.max_position_embeddings));
  auto check_range = [](const torch::Tensor& t, int64_t n, const char* what, const char* limit) {
    const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
    if (lo < 0 || hi >= n)
      throw RuntimeError(std::string("bert: ") + what + " out of range [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "], " + limit + " is " + std::to_string(n));
  };
  auto ids = input_ids.to(torch::kLong);
  check_range(ids, o.vocab_size, "input_ids", "vocab_size");

  torch::Tensor tt = token_type_ids.defined() ? token_type_ids.to(torch::kLong) : torch::zeros_like(ids);
  if (tt.sizes() != ids.sizes())
    throw RuntimeError("bert: token_type_ids " + shape_str(tt) + " do not match input_ids " + shape_str(ids));
  check_range(tt, o.type_vocab_size, "token_type_ids", "type_vocab_size");

  torch::Tensor pos;
  if (position_ids.defined()) {
    pos = position_ids.to(torch::kLong);
    if (pos.dim() == 1) pos = pos.unsqueeze(0);
    if (pos.dim() != 2 || pos.size(1) != L || (pos.size(0) != B && pos.size(0) != 1))
      throw RuntimeError("bert: position_ids " + shape_str(position_ids) + " do not match input_ids " +
                         shape_str(ids));
    check_range(pos, o.max_position_embeddings, "position_ids", "max_position_embeddings");
    pos = pos.expand({B, L});
  } else {
    pos = torch::arange(L, ids.options()).unsqueeze(0).expand({B, L});
  }

  // additive mask: 0 where attending is allowed, the lowest float elsewhere
  torch::Tensor additive;
  const auto fopt = torch::TensorOptions().dtype(word_embeddings_->weight.dtype()).device(ids.device());
  if (attention_mask.defined()) {
    torch::Tensor keep;
    if (attention_mask.dim() == 2 && attention_mask.size(0) == B && attention_mask.size(1) == L)
      keep = attention_mask.view({B, 1, 1, L});
    else if (attention_mask.dim() == 3 && attention_mask.size(0) == B && attention_mask.size(1) == L &&
             attention_mask.size(2) == L)
      keep = attention_mask.view({B, 1, L, L});
    else
      throw RuntimeError("bert: attention_mask " + shape_str(attention_mask) + " must be [B, L] or [B, L, L] for input_ids " +
                         shape_str(ids));
    additive = (1.0 - (keep != 0).to(fopt)) * std::numeric_limits<float>::lowest();  // [B, 1, 1|L, L]
  } else {
    additive = torch::zeros({B, 1, 1, L}, fopt);
  }

  BertOutput out;
  auto h = embed_drop_(
      embed_norm_(word_embeddings_(ids) + position_embeddings_(pos) + token_type_embeddings_(tt)));  // [B, L, H]
  if (output_hidden_states) out.hidden_states.push_back(h);
  for (auto& layer : layers_) {
    h = layer(h, additive);
    if (output_hidden_states) out.hidden_states.push_back(h);
  }
  out.last_hidden_state = h;
  if (pooler_dense_) out.pooler_output = torch::tanh(pooler_dense_(h.select(1, 0)));  // [B, H]
  return out;
}

LoadReport BertModelImpl::load_weights(const StateDict& weights, bool strict) {
  return load_encoder_weights(*this, weights, strict, "bert");
}

// ---------------------------------------------------------------- key map

NormalizedWeights normalize_bert_state_dict(const StateDict& state, bool with_pooler) {
  auto starts = [](const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; };
  auto ends = [](const std::string& s, const std::string& p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  bool prefixed = false;
  for (const auto& kv : state) {
    std::string k = starts(kv.first, "module.") ? kv.first.substr(7) : kv.first;
    if (starts(k, "bert.")) prefixed = true;
  }
  NormalizedWeights out;
  for (const auto& kv : state) {
    std::string k = starts(kv.first, "module.") ? kv.first.substr(7) : kv.first;
    if (prefixed) {
      if (!starts(k, "bert.")) {  // heads of BertForPreTraining / task models: cls.*, classifier.*, qa_outputs.*
        out.ignored.push_back(kv.first);
        continue;
      }
      k = k.substr(5);
    } else if (starts(k, "cls.")) {
      out.ignored.push_back(kv.first);
      continue;
    }
    if (k == "embeddings.position_ids" || (!with_pooler && starts(k, "pooler."))) {
      out.ignored.push_back(kv.first);
      continue;
    }
    if (k.find("LayerNorm") != std::string::npos) {  // TF-era names
      if (ends(k, ".gamma")) k = k.substr(0, k.size() - 6) + ".weight";
      else if (ends(k, ".beta")) k = k.substr(0, k.size() - 5) + ".bias";
    }
    out.weights[k] = kv.second;
  }
  return out;
}

}  // namespace seer::text
