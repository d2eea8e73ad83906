#include "text/clip_text.h"

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <regex>

#include "core/config.h"
#include "core/error.h"
#include "text/encoder_weights.h"

namespace seer::text {

namespace {

bool starts(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

// ---------------------------------------------------------------- options

ClipTextOptions ClipTextOptions::from_config(const ConfigSection& s) {
  ClipTextOptions o;
  o.vocab_size = s.get<int64_t>("vocab_size", o.vocab_size, "CLIP BPE vocabulary size");
  o.context_length = s.get<int64_t>("context_length", o.context_length, "CLIP text context (position table) length");
  o.width = s.get<int64_t>("width", o.width, "CLIP text transformer width");
  o.layers = s.get<int64_t>("layers", o.layers, "CLIP text transformer layers");
  o.heads = s.get<int64_t>("heads", o.heads, "CLIP text attention heads (OpenAI: width / 64)");
  o.embed_dim = s.get<int64_t>("embed_dim", o.embed_dim, "CLIP joint embedding size (text_projection output)");
  o.layer_norm_eps = s.get<double>("layer_norm_eps", o.layer_norm_eps, "CLIP LayerNorm epsilon");
  try {
    o.validate();
  } catch (const RuntimeError& e) {
    s.fail("heads", e.what());
  }
  return o;
}

void ClipTextOptions::validate() const {
  require_positive("clip_text", vocab_size, "vocab_size");
  require_positive("clip_text", context_length, "context_length");
  require_positive("clip_text", width, "width");
  require_positive("clip_text", layers, "layers");
  require_positive("clip_text", heads, "heads");
  require_positive("clip_text", embed_dim, "embed_dim");
  if (width % heads != 0)
    throw RuntimeError("clip_text: width " + std::to_string(width) + " is not a multiple of heads " +
                       std::to_string(heads));
}

// ---------------------------------------------------------------- block

ClipResidualBlockImpl::ClipResidualBlockImpl(int64_t width, int64_t heads, double eps) : heads_(heads) {
  auto attn = scope(*this, "attn");
  in_proj_weight_ = attn->register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias_ = attn->register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj_ = attn->register_module("out_proj", torch::nn::Linear(width, width));
  ln_1_ = register_module("ln_1", layer_norm(width, eps));
  auto mlp = scope(*this, "mlp");
  c_fc_ = mlp->register_module("c_fc", torch::nn::Linear(width, 4 * width));
  c_proj_ = mlp->register_module("c_proj", torch::nn::Linear(4 * width, width));
  ln_2_ = register_module("ln_2", layer_norm(width, eps));
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(in_proj_weight_);  // nn.MultiheadAttention's init
  out_proj_->bias.zero_();
}

torch::Tensor ClipResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask) {
  const int64_t B = x.size(0), L = x.size(1), W = x.size(2), d = W / heads_;
  auto qkv = torch::nn::functional::linear(ln_1_(x), in_proj_weight_, in_proj_bias_).chunk(3, -1);  // 3 x [B, L, W]
  auto split = [&](const torch::Tensor& t) { return t.reshape({B, L, heads_, d}).transpose(1, 2); };
  // scaled before the product, as nn.MultiheadAttention does
  auto q = split(qkv[0]) / std::sqrt(static_cast<double>(d)), k = split(qkv[1]), v = split(qkv[2]);  // [B, h, L, d]
  auto probs = torch::softmax(torch::matmul(q, k.transpose(-1, -2)) + additive_mask, -1);             // [B, h, L, L]
  auto context = torch::matmul(probs, v).transpose(1, 2).reshape({B, L, W});
  auto h = x + out_proj_(context);
  auto f = c_fc_(ln_2_(h));
  return h + c_proj_(f * torch::sigmoid(1.702 * f));  // QuickGELU
}

// ---------------------------------------------------------------- model

ClipTextModelImpl::ClipTextModelImpl(const ClipTextOptions& options) : options_(options) {
  options_.validate();
  const auto& o = options_;
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(o.vocab_size, o.width));
  positional_embedding_ = register_parameter("positional_embedding", torch::empty({o.context_length, o.width}));
  auto transformer = scope(*this, "transformer");
  auto resblocks = scope(*transformer, "resblocks");
  for (int64_t i = 0; i < o.layers; ++i)
    blocks_.push_back(resblocks->register_module(std::to_string(i), ClipResidualBlock(o.width, o.heads, o.layer_norm_eps)));
  ln_final_ = register_module("ln_final", layer_norm(o.width, o.layer_norm_eps));
  text_projection_ = register_parameter("text_projection", torch::empty({o.width, o.embed_dim}));
  // openai/CLIP's initialize_parameters (text part)
  torch::NoGradGuard no_grad;
  token_embedding_->weight.normal_(0.0, 0.02);
  positional_embedding_.normal_(0.0, 0.01);
  const double proj_std = std::pow(o.width, -0.5) * std::pow(2.0 * o.layers, -0.5);
  const double attn_std = std::pow(o.width, -0.5), fc_std = std::pow(2.0 * o.width, -0.5);
  for (auto& p : named_parameters()) {
    const auto& n = p.key();
    auto ends = [&](const std::string& s) { return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0; };
    if (ends("attn.in_proj_weight")) p.value().normal_(0.0, attn_std);
    else if (ends("attn.out_proj.weight") || ends("mlp.c_proj.weight")) p.value().normal_(0.0, proj_std);
    else if (ends("mlp.c_fc.weight")) p.value().normal_(0.0, fc_std);
  }
  text_projection_.normal_(0.0, attn_std);
}

ClipTextOutput ClipTextModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& eot_positions,
                                          bool normalize) {
  const auto& o = options_;
  if (!input_ids.defined() || input_ids.dim() != 2)
    throw RuntimeError("clip_text: input_ids must be [B, L], got " + shape_str(input_ids));
  if (input_ids.scalar_type() != torch::kLong && input_ids.scalar_type() != torch::kInt)
    throw RuntimeError("clip_text: input_ids must be an integer tensor");
  const int64_t B = input_ids.size(0), L = input_ids.size(1);
  if (B == 0 || L == 0) throw RuntimeError("clip_text: empty input " + shape_str(input_ids) + " (no tokens to encode)");
  if (L > o.context_length)
    throw RuntimeError("clip_text: sequence length " + std::to_string(L) + " exceeds context_length " +
                       std::to_string(o.context_length));
  auto ids = input_ids.to(torch::kLong);
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  if (lo < 0 || hi >= o.vocab_size)
    throw RuntimeError("clip_text: input_ids out of range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                       "], vocab_size is " + std::to_string(o.vocab_size));
  torch::Tensor eot;
  if (eot_positions.defined()) {
    if (eot_positions.dim() != 1 || eot_positions.size(0) != B)
      throw RuntimeError("clip_text: eot_positions " + shape_str(eot_positions) + " must be [" + std::to_string(B) +
                         "] for input_ids " + shape_str(ids));
    eot = eot_positions.to(torch::kLong).to(ids.device());
    if (eot.min().item<int64_t>() < 0 || eot.max().item<int64_t>() >= L)
      throw RuntimeError("clip_text: eot_positions must lie in [0, " + std::to_string(L) + ")");
  } else {
    eot = ids.argmax(-1);  // the end token has the highest id
  }

  auto x = token_embedding_(ids) + positional_embedding_.slice(0, 0, L);  // [B, L, W]
  // causal: position i sees 0..i
  auto mask = torch::full({L, L}, -std::numeric_limits<float>::infinity(), x.options()).triu(1);  // [L, L]
  for (auto& block : blocks_) x = block(x, mask);
  ClipTextOutput out;
  out.last_hidden_state = ln_final_(x);
  out.pooled = out.last_hidden_state.index({torch::arange(B, eot.options()), eot});  // [B, W]
  out.text_embeds = torch::matmul(out.pooled, text_projection_);                        // [B, E]
  if (normalize) out.text_embeds = out.text_embeds / out.text_embeds.norm(2, -1, true);
  return out;
}

torch::Tensor ClipTextModelImpl::encode(const torch::Tensor& input_ids, bool normalize,
                                        const torch::Tensor& eot_positions) {
  return forward(input_ids, eot_positions, normalize).text_embeds;
}

LoadReport ClipTextModelImpl::load_weights(const StateDict& weights, bool strict) {
  return load_encoder_weights(*this, weights, strict, "clip_text");
}

// ---------------------------------------------------------------- key map

NormalizedWeights normalize_clip_text_state_dict(const StateDict& state) {
  NormalizedWeights out;
  bool hf = false;
  for (const auto& kv : state)
    if (starts(kv.first, "text_model.")) hf = true;
  if (!hf) {
    for (const auto& kv : state) {
      const std::string& k = kv.first;
      if (starts(k, "visual.") || k == "logit_scale" || k == "input_resolution" || k == "context_length" ||
          k == "vocab_size")
        out.ignored.push_back(k);
      else
        out.weights[k] = kv.second;
    }
    return out;
  }
  static const std::regex layer_re(R"(^text_model\.encoder\.layers\.(\d+)\.(.+)$)");
  static const std::map<std::string, std::string> fixed = {
      {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
      {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
      {"text_model.final_layer_norm.weight", "ln_final.weight"},
      {"text_model.final_layer_norm.bias", "ln_final.bias"},
  };
  static const std::map<std::string, std::string> in_layer = {
      {"self_attn.out_proj.weight", "attn.out_proj.weight"}, {"self_attn.out_proj.bias", "attn.out_proj.bias"},
      {"layer_norm1.weight", "ln_1.weight"},                 {"layer_norm1.bias", "ln_1.bias"},
      {"layer_norm2.weight", "ln_2.weight"},                 {"layer_norm2.bias", "ln_2.bias"},
      {"mlp.fc1.weight", "mlp.c_fc.weight"},                 {"mlp.fc1.bias", "mlp.c_fc.bias"},
      {"mlp.fc2.weight", "mlp.c_proj.weight"},               {"mlp.fc2.bias", "mlp.c_proj.bias"},
  };
  // q / k / v pieces per "transformer.resblocks.N.attn.in_proj_{weight,bias}", in q, k, v order
  std::map<std::string, std::array<torch::Tensor, 3>> qkv;
  for (const auto& kv : state) {
    const std::string& k = kv.first;
    if (auto it = fixed.find(k); it != fixed.end()) {
      out.weights[it->second] = kv.second;
      continue;
    }
    if (k == "text_projection.weight") {
      out.weights["text_projection"] = kv.second.t().contiguous();  // [E, W] -> [W, E]
      continue;
    }
    std::smatch m;
    if (std::regex_match(k, m, layer_re)) {
      const std::string base = "transformer.resblocks." + m[1].str() + ".";
      const std::string rest = m[2].str();
      if (auto it = in_layer.find(rest); it != in_layer.end()) {
        out.weights[base + it->second] = kv.second;
        continue;
      }
      static const std::regex qkv_re(R"(^self_attn\.([qkv])_proj\.(weight|bias)$)");
      std::smatch q;
      if (std::regex_match(rest, q, qkv_re)) {
        const int slot = q[1].str() == "q" ? 0 : q[1].str() == "k" ? 1 : 2;
        qkv[base + "attn.in_proj_" + q[2].str()][slot] = kv.second;
        continue;
      }
      out.weights[k] = kv.second;  // unknown: left for the loader to report as unexpected
      continue;
    }
    if (k == "text_model.embeddings.position_ids" || k == "logit_scale" || starts(k, "vision_model.") ||
        starts(k, "visual_projection."))
      out.ignored.push_back(k);
    else
      out.weights[k] = kv.second;
  }
  for (auto& kv : qkv) {
    for (int i = 0; i < 3; ++i)
      if (!kv.second[i].defined())
        throw RuntimeError(std::string("clip_text: Hugging Face checkpoint lacks self_attn.") + "qkv"[i] +
                           "_proj for " + kv.first);
    out.weights[kv.first] = torch::cat({kv.second[0], kv.second[1], kv.second[2]}, 0);
  }
  return out;
}

}  // namespace seer::text
