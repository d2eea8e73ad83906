#include "models/grounding_dino/grounding_dino.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/distributed.h"
#include "core/error.h"
#include "ops/norm.h"
#include "core/logging.h"
#include "losses/set_target.h"
#include "ops/box_ops.h"

namespace seer {

namespace {

namespace F = torch::nn::functional;
constexpr double kInf = std::numeric_limits<double>::infinity();

// x [B, N, D] . text [B, T, D] -> [B, N, max_len], -inf for padded and absent tokens.
torch::Tensor contrastive_logits(const torch::Tensor& x, const torch::Tensor& text, const torch::Tensor& token_mask,
                                 int64_t max_len) {
  auto res = torch::matmul(x, text.transpose(-1, -2));  // [B, N, T]
  res = res.masked_fill(token_mask.logical_not().unsqueeze(1), -kInf);
  const int64_t T = res.size(-1);
  if (T == max_len) return res;
  auto out = torch::full({res.size(0), res.size(1), max_len}, -kInf, res.options());
  out.narrow(-1, 0, T).copy_(res);
  return out;
}

torch::Tensor interpolate_mask(const torch::Tensor& mask, int64_t h, int64_t w) {
  return F::interpolate(mask.unsqueeze(0).to(torch::kFloat),
                        F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kNearest))
      .to(torch::kBool)[0];
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// input_proj[l] = Sequential(conv, GroupNorm). Under CPU autocast the conv gives
// bfloat16, which LibTorch 1.13's group_norm refuses next to float32 weights,
// so the norm runs in its weights' dtype.
torch::Tensor run_input_proj(torch::nn::ModuleList& list, size_t l, const torch::Tensor& x) {
  auto seq = list[l]->as<torch::nn::SequentialImpl>();
  auto y = seq->ptr(0)->as<torch::nn::Conv2dImpl>()->forward(x);
  auto gn = seq->ptr(1)->as<torch::nn::GroupNormImpl>();
  return gn->forward(y.to(gn->weight.scalar_type()));  // see ops/norm.h
}

}  // namespace

GroundingDino::GroundingDino(GroundingDinoOptions options, CategoryTable categories)
    : options_(std::move(options)), categories_(std::move(categories)) {
  auto& o = options_;
  const int64_t D = o.hidden_dim;
  if (o.vocab.empty()) throw ConfigError("model.text_encoder.vocab: Grounding DINO needs a WordPiece vocabulary");
  tokenizer_ = std::make_shared<text::WordPieceTokenizer>(o.vocab);
  if (tokenizer_->vocab_size() > o.bert.vocab_size)
    throw ConfigError("model.text_encoder.vocab_size: " + std::to_string(o.bert.vocab_size) +
                      " is smaller than the vocabulary '" + o.vocab + "' (" +
                      std::to_string(tokenizer_->vocab_size()) + " tokens)");
  gdino::special_token_ids(*tokenizer_);  // refuses a vocabulary without [CLS]/[SEP]/./?

  // backbone = Joiner(body, PositionEmbeddingSineHW): backbone.0, backbone.1
  if (!o.backbone.build) throw ConfigError("model.backbone: no backbone to build");
  body = o.backbone.build(o.backbone_stages);
  PositionEmbeddingSineOptions pe;
  pe.num_pos_feats = D / 2;
  pe.temperature = o.pe_temperature;
  position_embedding = std::make_shared<PositionEmbeddingSine>(pe);
  auto joiner = register_module("backbone", std::make_shared<torch::nn::Module>());
  joiner->register_module("0", body);
  joiner->register_module("1", position_embedding);

  bert = register_module("bert", text::BertModel(o.bert));
  feat_map = register_module("feat_map", torch::nn::Linear(o.bert.hidden_size, D));

  const auto chans = body->channels();
  const int64_t n_out = static_cast<int64_t>(chans.size());
  if (o.num_feature_levels < n_out)
    throw ConfigError("model.num_feature_levels: " + std::to_string(o.num_feature_levels) + " is fewer than the " +
                      std::to_string(n_out) + " backbone maps");
  if (D % 32 != 0) throw ConfigError("model.hidden_dim: must be a multiple of 32 (GroupNorm(32)), got " + std::to_string(D));
  input_proj = register_module("input_proj", torch::nn::ModuleList());
  int64_t in_ch = chans.back();
  for (int64_t l = 0; l < o.num_feature_levels; ++l) {
    torch::nn::Sequential seq;
    if (l < n_out) seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(chans[l], D, 1)));
    else seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in_ch, D, 3).stride(2).padding(1)));
    if (l >= n_out) in_ch = D;
    seq->push_back(torch::nn::GroupNorm(torch::nn::GroupNormOptions(32, D)));
    input_proj->push_back(seq);
  }

  auto transformer = register_module("transformer", std::make_shared<torch::nn::Module>());
  level_embed = transformer->register_parameter("level_embed", torch::empty({o.num_feature_levels, D}));
  tgt_embed = transformer->register_module("tgt_embed", torch::nn::Embedding(o.num_queries, D));
  enc_output = transformer->register_module("enc_output", torch::nn::Linear(D, D));
  enc_output_norm = transformer->register_module("enc_output_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));

  DeformableLayerOptions enc;
  enc.d_model = D;
  enc.d_ffn = o.dim_feedforward;
  enc.dropout = o.dropout;
  enc.n_levels = o.num_feature_levels;
  enc.n_heads = o.nheads;
  enc.n_points = o.enc_n_points;
  auto encoder = transformer->register_module("encoder", std::make_shared<torch::nn::Module>());
  auto enc_list = encoder->register_module("layers", torch::nn::ModuleList());
  auto text_list = encoder->register_module("text_layers", torch::nn::ModuleList());
  auto fusion_list = encoder->register_module("fusion_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.enc_layers; ++i) {
    encoder_layers.push_back(DeformableEncoderLayer(enc));
    enc_list->push_back(encoder_layers.back());
    text_layers.push_back(gdino::TextEnhancerLayer(D, o.nheads / 2, o.dim_feedforward / 2, o.text_dropout));
    text_list->push_back(text_layers.back());
    fusion_layers.push_back(
        gdino::BiAttentionBlock(D, D, o.dim_feedforward / 2, o.nheads / 2, o.fusion_dropout, o.fusion_droppath));
    fusion_list->push_back(fusion_layers.back());
  }

  DeformableLayerOptions dec = enc;
  dec.n_points = o.dec_n_points;
  dec.text_cross_attention = true;
  auto decoder = transformer->register_module("decoder", std::make_shared<torch::nn::Module>());
  auto dec_list = decoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.dec_layers; ++i) {
    decoder_layers.push_back(DeformableDecoderLayer(dec));
    dec_list->push_back(decoder_layers.back());
  }
  decoder_norm = decoder->register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
  ref_point_head = decoder->register_module("ref_point_head", MLP(2 * D, D, D, 2));

  // The official initialisation: xavier for every matrix of the transformer
  // (tgt_embed included) before the box heads exist, the deformable attention's
  // own init, level_embed normal.
  {
    torch::NoGradGuard ng;
    for (auto& p : transformer->parameters())
      if (p.dim() > 1) torch::nn::init::xavier_uniform_(p);
    for (auto& layer : encoder_layers) layer->self_attn->reset_parameters();
    for (auto& layer : decoder_layers) layer->cross_attn->reset_parameters();
    torch::nn::init::normal_(level_embed);
    torch::nn::init::xavier_uniform_(feat_map->weight);
    feat_map->bias.zero_();
    for (size_t l = 0; l < input_proj->size(); ++l) {
      auto conv = input_proj[l]->as<torch::nn::SequentialImpl>()->ptr(0)->as<torch::nn::Conv2dImpl>();
      torch::nn::init::xavier_uniform_(conv->weight);
      conv->bias.zero_();
    }
  }

  // One box head for every decoder layer (dec_pred_bbox_embed_share), under
  // the 2 x dec_layers names of the official state_dict; the encoder's box head
  // is a separate copy (two_stage_bbox_embed_share false). Last layers start at 0.
  bbox_embed = MLP(D, D, 4, 3);
  auto top_list = register_module("bbox_embed", torch::nn::ModuleList());
  auto dec_box_list = decoder->register_module("bbox_embed", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.dec_layers; ++i) {
    top_list->push_back(bbox_embed);
    dec_box_list->push_back(bbox_embed);
  }
  enc_out_bbox_embed = transformer->register_module("enc_out_bbox_embed", MLP(D, D, 4, 3));
  {
    torch::NoGradGuard ng;
    for (auto* mlp : {&bbox_embed, &enc_out_bbox_embed}) {
      auto last = (*mlp)->layers[2]->as<torch::nn::LinearImpl>();
      last->weight.zero_();
      last->bias.zero_();
    }
  }

  o.loss.classification = Classification::Token;
  criterion_ = SetCriterion(o.loss);
  apply_freeze();
}

void GroundingDino::apply_freeze() {
  // The official model never trains the BERT pooler.
  for (auto& kv : bert->named_parameters())
    if (starts_with(kv.key(), "pooler.")) kv.value().set_requires_grad(false);
  if (options_.freeze.empty()) return;
  std::vector<std::string> unused = options_.freeze;
  for (auto& kv : named_parameters()) {
    for (const auto& p : options_.freeze)
      if (starts_with(kv.key(), p)) {
        kv.value().set_requires_grad(false);
        unused.erase(std::remove(unused.begin(), unused.end(), p), unused.end());
      }
  }
  if (!unused.empty())
    throw ConfigError("model.freeze: '" + unused.front() + "' is the prefix of no parameter (e.g. backbone., bert.)");
}

gdino::TextInputs GroundingDino::tokenize(const std::vector<std::string>& captions) const {
  gdino::TokenizeOptions t;
  t.max_text_len = options_.max_text_len;
  t.sub_sentence = options_.sub_sentence_present;
  return gdino::tokenize_captions(*tokenizer_, captions, t);
}

GroundingDino::TextFeatures GroundingDino::encode_text(const gdino::TextInputs& in) {
  return encode_text(in.input_ids, in.token_mask, in.position_ids, in.self_attention_mask);
}

GroundingDino::TextFeatures GroundingDino::encode_text(const torch::Tensor& input_ids, const torch::Tensor& token_mask,
                                                       const torch::Tensor& position_ids,
                                                       const torch::Tensor& self_attention_mask) {
  const auto dev = feat_map->weight.device();
  if (input_ids.dim() != 2 || token_mask.sizes() != input_ids.sizes() || position_ids.sizes() != input_ids.sizes() ||
      self_attention_mask.dim() != 3 || self_attention_mask.size(1) != input_ids.size(1) ||
      self_attention_mask.size(2) != input_ids.size(1))
    throw RuntimeError("Grounding DINO: text tensors must be input_ids, token_mask, position_ids [B, T] and a [B, T, T] mask");
  if (input_ids.size(1) > options_.max_text_len)
    throw RuntimeError("Grounding DINO: " + std::to_string(input_ids.size(1)) + " text tokens exceed max_text_len " +
                       std::to_string(options_.max_text_len));
  TextFeatures t;
  t.token_mask = token_mask.to(dev).to(torch::kBool);
  t.position_ids = position_ids.to(dev).to(torch::kLong);
  t.self_attention_mask = self_attention_mask.to(dev).to(torch::kBool);
  auto ids = input_ids.to(dev).to(torch::kLong);
  torch::Tensor mask = options_.sub_sentence_present ? t.self_attention_mask : t.token_mask;
  auto out = bert->forward(ids, mask, torch::zeros_like(ids), options_.sub_sentence_present ? t.position_ids : torch::Tensor());
  t.encoded = feat_map->forward(out.last_hidden_state);
  return t;
}

std::vector<torch::Tensor> GroundingDino::project_features(const torch::Tensor& images, const torch::Tensor& mask,
                                                           std::vector<torch::Tensor>& masks,
                                                           std::vector<torch::Tensor>& pos) {
  auto feats = body->forward_features(images);
  std::vector<torch::Tensor> srcs;
  for (size_t l = 0; l < feats.size(); ++l) {
    auto m = interpolate_mask(mask, feats[l].size(2), feats[l].size(3));
    srcs.push_back(run_input_proj(input_proj, l, feats[l]));
    masks.push_back(m);
    pos.push_back(position_embedding->forward(m).to(feats[l].dtype()));
  }
  for (int64_t l = static_cast<int64_t>(feats.size()); l < options_.num_feature_levels; ++l) {
    auto in = l == static_cast<int64_t>(feats.size()) ? feats.back() : srcs.back();
    auto src = run_input_proj(input_proj, static_cast<size_t>(l), in);
    auto m = interpolate_mask(mask, src.size(2), src.size(3));
    srcs.push_back(src);
    masks.push_back(m);
    pos.push_back(position_embedding->forward(m).to(src.dtype()));
  }
  return srcs;
}

GroundingDino::ForwardOutput GroundingDino::forward(const torch::Tensor& images, const torch::Tensor& mask,
                                                    const TextFeatures& text_in, const torch::Tensor& selected) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != 3)
    throw RuntimeError("Grounding DINO: images must be [B, 3, H, W]");
  if (!mask.defined() || mask.dim() != 3 || mask.size(0) != images.size(0) || mask.size(1) != images.size(2) ||
      mask.size(2) != images.size(3))
    throw RuntimeError("Grounding DINO: mask must be [B, H, W] matching the images");
  const int64_t B = images.size(0), D = options_.hidden_dim, T_max = options_.max_text_len;
  TextFeatures text = text_in;
  if (text.encoded.size(0) != B) {
    if (text.encoded.size(0) != 1)
      throw RuntimeError("Grounding DINO: " + std::to_string(text.encoded.size(0)) + " captions for " +
                         std::to_string(B) + " images");
    text.encoded = text.encoded.expand({B, -1, -1});
    text.token_mask = text.token_mask.expand({B, -1});
    text.position_ids = text.position_ids.expand({B, -1});
    text.self_attention_mask = text.self_attention_mask.expand({B, -1, -1});
  }

  std::vector<torch::Tensor> masks, pos;
  auto srcs = project_features(images, mask, masks, pos);
  auto in = flatten_levels(masks);
  std::vector<torch::Tensor> src_flat, pos_flat;
  for (size_t l = 0; l < srcs.size(); ++l) {
    src_flat.push_back(srcs[l].flatten(2).transpose(1, 2));
    pos_flat.push_back(pos[l].flatten(2).transpose(1, 2) + level_embed[static_cast<int64_t>(l)].view({1, 1, -1}));
  }
  auto memory = torch::cat(src_flat, 1);  // [B, S, D]
  auto lvl_pos = torch::cat(pos_flat, 1).to(memory.dtype());
  const int64_t S = memory.size(1);

  // Feature enhancer.
  auto memory_text = text.encoded;
  const auto text_padding = text.token_mask.logical_not();
  const auto text_blocked = text.self_attention_mask.logical_not();
  torch::Tensor pos_text = scalar_sine_embedding(text.position_ids.unsqueeze(-1), D).to(memory_text.dtype());
  auto ref_enc = encoder_reference_points(in).to(memory.dtype());
  for (size_t i = 0; i < encoder_layers.size(); ++i) {
    std::tie(memory, memory_text) = fusion_layers[i]->forward(memory, memory_text, in.padding_mask, text_padding);
    memory_text = text_layers[i]->forward(memory_text, pos_text, text_blocked);
    memory = encoder_layers[i]->forward(memory, lvl_pos, ref_enc, in);
  }

  // Language-guided query selection.
  auto [out_memory, proposals] = encoder_output_proposals(memory, in);
  out_memory = apply_norm(enc_output_norm, enc_output->forward(out_memory));
  auto enc_logits = contrastive_logits(out_memory, memory_text, text.token_mask, T_max);  // [B, S, 256]
  const int64_t Q = std::min(options_.num_queries, S);
  torch::Tensor topk;
  if (selected.defined()) {
    if (selected.dim() != 2 || selected.size(0) != B || selected.size(1) != Q)
      throw RuntimeError("Grounding DINO: a query selection must be [" + std::to_string(B) + ", " + std::to_string(Q) + "]");
    topk = selected.to(torch::kLong).to(enc_logits.device());
  } else {
    topk = std::get<1>(std::get<0>(enc_logits.max(-1)).topk(Q, 1));  // [B, Q]
  }
  auto enc_coord = enc_out_bbox_embed->forward(out_memory) + proposals.to(out_memory.dtype());
  auto gather = [&](const torch::Tensor& x) {
    return x.gather(1, topk.unsqueeze(-1).expand({B, Q, x.size(-1)}));
  };
  auto ref_undetached = gather(enc_coord);  // unsigmoided
  auto hs_enc = gather(out_memory);
  ForwardOutput out;
  out.topk_index = topk;
  out.interm_logits = contrastive_logits(hs_enc, memory_text, text.token_mask, T_max);
  out.interm_boxes = ref_undetached.sigmoid();
  auto tgt = tgt_embed->weight.narrow(0, 0, Q).unsqueeze(0).expand({B, Q, D}).to(memory.dtype());

  // Decoder.
  auto ref = ref_undetached.detach().sigmoid();  // [B, Q, 4]
  auto vr = torch::cat({in.valid_ratios, in.valid_ratios}, -1).to(ref.dtype());  // [B, L, 4]
  std::vector<torch::Tensor> refs{ref}, hs;
  auto output = tgt;
  for (size_t l = 0; l < decoder_layers.size(); ++l) {
    auto ref_in = ref.unsqueeze(2) * vr.unsqueeze(1);  // [B, Q, L, 4]
    auto query_pos = ref_point_head->forward(box_sine_embedding(ref_in.select(2, 0), D / 2).to(output.dtype()));
    output = decoder_layers[l]->forward(output, query_pos, ref_in, memory, in, memory_text, text_padding);
    auto new_ref = (bbox_embed->forward(output) + inverse_sigmoid(ref)).sigmoid();
    refs.push_back(new_ref);
    ref = new_ref.detach();
    hs.push_back(apply_norm(decoder_norm, output));
  }
  std::vector<torch::Tensor> boxes, logits;
  for (size_t l = 0; l < hs.size(); ++l) {
    boxes.push_back((bbox_embed->forward(hs[l]) + inverse_sigmoid(refs[l])).sigmoid());
    logits.push_back(contrastive_logits(hs[l], memory_text, text.token_mask, T_max));
  }
  out.boxes = torch::stack(boxes);
  out.logits = torch::stack(logits);
  const int64_t T = text.token_mask.size(1);
  out.text_mask = torch::zeros({B, T_max}, text.token_mask.options());
  out.text_mask.narrow(1, 0, T).copy_(text.token_mask);
  return out;
}

void GroundingDino::clear_text_cache() {
  text_cache_.clear();
  category_prompts_.clear();
  category_prompts_built_ = false;
}

GroundingDino::TextFeatures GroundingDino::cached_text(const std::vector<std::string>& captions,
                                                       gdino::TextInputs* inputs_out) {
  std::string key;
  for (const auto& c : captions) key += c + '\x1f';
  auto it = text_cache_.find(key);
  if (it != text_cache_.end() && !is_training()) {
    ++cache_hits_;
    if (inputs_out) *inputs_out = it->second.second;
    return it->second.first;
  }
  auto inputs = tokenize(captions);
  auto feats = encode_text(inputs);
  if (!is_training()) {
    if (text_cache_.size() >= 64) text_cache_.clear();  // bounded: prompts of one run, not of a stream
    text_cache_[key] = {feats, inputs};
  }
  if (inputs_out) *inputs_out = inputs;
  return feats;
}

const std::vector<GroundingDino::CategoryPrompt>& GroundingDino::category_prompts() {
  if (category_prompts_built_) return category_prompts_;
  if (categories_.size() == 0)
    throw RuntimeError("Grounding DINO: no text prompt and no categories to build one from (give --text or data.categories)");
  for (const auto& [b, e] : gdino::chunk_class_names(*tokenizer_, categories_.names, options_.max_text_len)) {
    std::vector<std::string> names(categories_.names.begin() + b, categories_.names.begin() + e);
    auto cap = gdino::build_class_caption(names);
    CategoryPrompt p;
    p.caption = cap.caption;
    p.inputs = tokenize({cap.caption});
    p.pos_map = gdino::positive_map(p.inputs.encodings[0], cap.spans, options_.max_text_len);
    for (int64_t k = b; k < e; ++k) p.labels.push_back(k);
    category_prompts_.push_back(std::move(p));
  }
  category_prompts_built_ = true;
  return category_prompts_;
}

std::vector<Prediction> GroundingDino::postprocess_categories(const torch::Tensor& logits, const torch::Tensor& boxes,
                                                              const torch::Tensor& pos_map,
                                                              const std::vector<int64_t>& labels,
                                                              const std::vector<std::array<int64_t, 2>>& sizes) const {
  // test_ap_on_coco PostProcessCocoGrounding: prob [Q, 256] @ pos_map^T -> [Q, K],
  // top num_select over Q*K, box index = flat // K; no NMS.
  const int64_t B = logits.size(0), Q = logits.size(1), K = pos_map.size(0);
  auto prob = torch::matmul(logits.to(torch::kFloat).sigmoid(), pos_map.to(logits.device()).t());  // [B, Q, K]
  const int64_t k = std::min(options_.num_select, Q * K);
  auto [scores, index] = prob.reshape({B, Q * K}).topk(k, 1);
  auto box_idx = index.div(K, "floor");
  auto cls = index.remainder(K);
  auto xyxy = box::cxcywh_to_xyxy(boxes.to(torch::kFloat)).gather(1, box_idx.unsqueeze(-1).expand({B, k, 4}));
  auto label_t = torch::tensor(labels, torch::kLong).to(logits.device());
  std::vector<Prediction> preds;
  for (int64_t i = 0; i < B; ++i) {
    const auto [h, w] = sizes[i];
    auto scale = torch::tensor({static_cast<float>(w), static_cast<float>(h), static_cast<float>(w),
                                static_cast<float>(h)}, xyxy.options());
    Prediction p;
    p.boxes = xyxy[i] * scale;
    p.scores = scores[i];
    p.labels = label_t.index_select(0, cls[i]);
    preds.push_back(p);
  }
  return preds;
}

std::vector<Prediction> GroundingDino::predict(const Batch& batch) {
  torch::NoGradGuard ng;
  const int64_t B = batch.size();
  std::vector<std::array<int64_t, 2>> sizes;
  for (const auto& t : batch.targets) {
    auto s = t.orig_size[0] > 0 && t.orig_size[1] > 0 ? t.orig_size : t.size;
    if (s[0] <= 0 || s[1] <= 0)
      throw RuntimeError("Grounding DINO: image '" + t.file_name + "' has neither orig_size nor size to scale boxes to");
    sizes.push_back(s);
  }
  // Images with a free caption are grounded on it (phrases); the others are
  // scored against the category table's prompts.
  std::vector<Prediction> preds(B);
  std::vector<int64_t> free_idx, cat_idx;
  // A caption that is the category prompt itself (e.g. the synthetic data's
  // "circle . square . triangle .") is scored per category too.
  std::string class_caption;
  if (categories_.size() > 0) class_caption = gdino::preprocess_caption(gdino::build_class_caption(categories_.names).caption);
  for (int64_t i = 0; i < B; ++i) {
    const auto& c = batch.targets[i].caption;
    const bool by_category = c.empty() || (!class_caption.empty() && gdino::preprocess_caption(c) == class_caption);
    (by_category ? cat_idx : free_idx).push_back(i);
  }
  auto sub = [&](const std::vector<int64_t>& idx) {
    auto ix = torch::tensor(idx, torch::kLong).to(batch.images.device());
    return std::make_pair(batch.images.index_select(0, ix), batch.pad_mask.index_select(0, ix));
  };
  if (!cat_idx.empty()) {
    auto [images, mask] = sub(cat_idx);
    std::vector<std::array<int64_t, 2>> sz;
    for (auto i : cat_idx) sz.push_back(sizes[i]);
    std::vector<std::vector<Prediction>> parts;
    for (const auto& prompt : category_prompts()) {
      auto text = cached_text({prompt.caption}, nullptr);
      auto out = forward(images, mask, text);
      const int64_t L = out.logits.size(0);
      parts.push_back(postprocess_categories(out.logits[L - 1], out.boxes[L - 1], prompt.pos_map, prompt.labels, sz));
    }
    for (size_t j = 0; j < cat_idx.size(); ++j) {
      Prediction p;
      if (parts.size() == 1) {
        p = parts[0][j];
      } else {  // chunks: merge and keep the best num_select
        std::vector<torch::Tensor> bx, sc, lb;
        for (auto& part : parts) {
          bx.push_back(part[j].boxes);
          sc.push_back(part[j].scores);
          lb.push_back(part[j].labels);
        }
        auto scores = torch::cat(sc);
        auto top = std::get<1>(scores.topk(std::min<int64_t>(options_.num_select, scores.size(0))));
        p.boxes = torch::cat(bx).index_select(0, top);
        p.scores = scores.index_select(0, top);
        p.labels = torch::cat(lb).index_select(0, top);
      }
      p.image_id = batch.targets[cat_idx[j]].image_id;
      preds[cat_idx[j]] = p;
    }
  }
  // Free captions: images sharing a caption run as one batch with the text encoded once.
  std::map<std::string, std::vector<int64_t>> by_caption;
  for (auto i : free_idx) by_caption[gdino::preprocess_caption(batch.targets[i].caption)].push_back(i);
  for (const auto& [caption, idx] : by_caption) {
    auto [images, mask] = sub(idx);
    // One run per chunk of the prompt (one, unless it is over the token budget).
    std::vector<torch::Tensor> probs, box_list;
    std::vector<gdino::TextInputs> chunk_inputs;
    for (const auto& chunk : prompt_chunks(caption)) {
      gdino::TextInputs inputs;
      auto text = cached_text({chunk}, &inputs);
      auto out = forward(images, mask, text);
      const int64_t L = out.logits.size(0);
      probs.push_back(out.logits[L - 1].to(torch::kFloat).sigmoid().cpu());  // [b, Q, 256]
      box_list.push_back(box::cxcywh_to_xyxy(out.boxes[L - 1].to(torch::kFloat)).cpu());
      chunk_inputs.push_back(std::move(inputs));
    }
    const int64_t Qc = probs[0].size(1);
    auto prob = torch::cat(probs, 1);     // [b, chunks * Q, 256]
    auto boxes = torch::cat(box_list, 1);  // [b, chunks * Q, 4]
    for (size_t j = 0; j < idx.size(); ++j) {
      // Every query, best first (callers filter by score: predict.score_threshold
      // plays the official box_threshold); the phrase of each from its tokens
      // over text_threshold.
      auto [best, order] = std::get<0>(prob[j].max(-1)).sort(0, /*descending=*/true);
      const auto [h, w] = sizes[idx[j]];
      auto scale = torch::tensor({static_cast<float>(w), static_cast<float>(h), static_cast<float>(w), static_cast<float>(h)});
      Prediction p;
      p.boxes = boxes[j].index_select(0, order) * scale;
      p.scores = best;
      p.labels = torch::full({order.size(0)}, -1, torch::kLong);
      auto lab = p.labels.accessor<int64_t, 1>();
      auto ord = order.accessor<int64_t, 1>();
      for (int64_t k = 0; k < order.size(0); ++k) {
        const auto& enc = chunk_inputs[static_cast<size_t>(ord[k] / Qc)].encodings[0];
        p.phrases.push_back(gdino::phrase_from_scores(*tokenizer_, enc, prob[j][ord[k]], options_.text_threshold));
        // a phrase that names a category gets its label
        auto it = std::find(categories_.names.begin(), categories_.names.end(), p.phrases.back());
        if (it != categories_.names.end()) lab[k] = static_cast<int64_t>(it - categories_.names.begin());
      }
      p.image_id = batch.targets[idx[j]].image_id;
      preds[idx[j]] = p;
    }
  }
  return preds;
}

LossDict GroundingDino::loss(const Batch& batch) {
  clear_text_cache();
  const int64_t B = batch.size();
  if (B == 0) throw RuntimeError("Grounding DINO: empty batch");
  // Captions and per-box positive maps: a target's own caption and spans, or
  // (detection data without captions) the category names.
  std::vector<std::string> captions;
  std::vector<std::vector<std::vector<Span>>> spans(B);
  gdino::ClassCaption all;
  bool all_built = false;
  for (int64_t i = 0; i < B; ++i) {
    const auto& t = batch.targets[i];
    const int64_t n = t.num_boxes();
    if (!t.caption.empty()) {
      if (static_cast<int64_t>(t.tokens_positive.size()) != n)
        throw RuntimeError("Grounding DINO: image '" + t.file_name + "' has " + std::to_string(n) + " boxes but " +
                           std::to_string(t.tokens_positive.size()) + " token spans");
      for (int64_t k = 0; k < n; ++k)
        for (const auto& s : t.tokens_positive[k])
          if (s.begin < 0 || s.end > static_cast<int64_t>(t.caption.size()) || s.begin >= s.end)
            throw RuntimeError("Grounding DINO: image '" + t.file_name + "' box " + std::to_string(k) + ": span [" +
                               std::to_string(s.begin) + ", " + std::to_string(s.end) + ") is outside its caption of " +
                               std::to_string(t.caption.size()) + " characters");
      captions.push_back(t.caption);
      spans[i] = t.tokens_positive;
    } else {
      if (categories_.size() == 0)
        throw RuntimeError("Grounding DINO: image '" + t.file_name + "' has no caption and the dataset no categories");
      if (!all_built) {
        all = gdino::build_class_caption(categories_.names);
        all_built = true;
      }
      captions.push_back(all.caption);
      auto labels = t.labels.defined() ? t.labels.to(torch::kCPU).to(torch::kLong) : torch::zeros({0}, torch::kLong);
      for (int64_t k = 0; k < n; ++k) {
        const int64_t c = labels[k].item<int64_t>();
        if (c < 0 || c >= categories_.size())
          throw RuntimeError("Grounding DINO: image '" + t.file_name + "' label " + std::to_string(c) +
                             " is outside the " + std::to_string(categories_.size()) + " categories");
        spans[i].push_back(all.spans[c]);
      }
    }
  }
  auto inputs = tokenize(captions);
  auto text = encode_text(inputs);
  auto out = forward(batch.images, batch.pad_mask, text);

  std::vector<SetTarget> targets;
  for (int64_t i = 0; i < B; ++i) {
    auto pm = gdino::positive_map(inputs.encodings[i], spans[i], options_.max_text_len, /*normalise=*/false);
    targets.push_back(to_set_target(batch.targets[i], pm.to(batch.images.device())));
  }
  return loss_from_outputs(out, targets);
}

LossDict GroundingDino::loss_from_outputs(const ForwardOutput& out, const std::vector<SetTarget>& targets) {
  const int64_t L = out.logits.size(0);
  auto layer = [&](const torch::Tensor& l, const torch::Tensor& b) {
    SetPrediction p;
    p.logits = l.to(torch::kFloat);
    p.boxes = b.to(torch::kFloat);
    p.text_mask = out.text_mask;
    return p;
  };
  std::vector<SetPrediction> aux;
  if (options_.aux_loss)
    for (int64_t i = 0; i + 1 < L; ++i) aux.push_back(layer(out.logits[i], out.boxes[i]));
  double num_boxes = 0;
  for (const auto& t : targets) num_boxes += static_cast<double>(t.labels.size(0));
  if (dist::distributed()) num_boxes = dist::all_reduce_sum(num_boxes) / dist::world_size();
  num_boxes = std::max(num_boxes, 1.0);
  LossDict logs;
  LossDict losses = criterion_(layer(out.logits[L - 1], out.boxes[L - 1]), aux, targets, &logs, num_boxes);
  if (options_.interm_loss) {
    auto interm = layer(out.interm_logits, out.interm_boxes);
    auto matches = criterion_.match(interm, targets);
    auto terms = criterion_.terms(interm, targets, matches, num_boxes, false, nullptr, "_interm");
    for (const auto& kv : criterion_.weighted(terms, "_interm"))
      losses.insert(kv.key(), kv.value() * options_.interm_loss_coef);
  }
  for (const auto& kv : logs) losses.insert("log/" + kv.key(), kv.value());
  return losses;
}

std::vector<std::string> GroundingDino::prompt_chunks(const std::string& caption) const {
  const std::string c = gdino::preprocess_caption(caption);
  const int64_t n = static_cast<int64_t>(tokenizer_->tokenize(c).size()) + 2;
  if (n <= options_.max_text_len) return {c};
  // Split into phrases at '.' and pack them into captions that fit.
  std::vector<std::string> phrases;
  std::string cur;
  for (char ch : c) {
    if (ch == '.') {
      auto b = cur.find_first_not_of(' '), e = cur.find_last_not_of(' ');
      if (b != std::string::npos) phrases.push_back(cur.substr(b, e - b + 1));
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (phrases.size() < 2)
    throw RuntimeError("the prompt takes " + std::to_string(n) + " tokens, over the budget of " +
                       std::to_string(options_.max_text_len) + ", and has no ' . ' separators to split it at");
  std::vector<std::string> out;
  try {
    for (const auto& [b, e] : gdino::chunk_class_names(*tokenizer_, phrases, options_.max_text_len)) {
      std::vector<std::string> part(phrases.begin() + b, phrases.begin() + e);
      out.push_back(gdino::build_class_caption(part, false).caption);
    }
  } catch (const RuntimeError& e) {
    throw RuntimeError(std::string("the prompt is over the token budget and cannot be chunked: ") + e.what());
  }
  return out;
}

void GroundingDino::check_prompt(const std::string& text) const {
  if (text.find_first_not_of(" \t\n\r") == std::string::npos) throw UsageError("--text: the prompt is empty");
  const auto specials = gdino::special_token_ids(*tokenizer_);
  bool word = false;
  for (const auto& p : tokenizer_->tokenize(gdino::preprocess_caption(text)))
    if (std::find(specials.begin(), specials.end(), p.id) == specials.end()) word = true;
  if (!word) throw UsageError("--text: the prompt '" + text + "' has no word to ground (only separators)");
  try {
    prompt_chunks(text);
  } catch (const RuntimeError& e) {
    throw UsageError(std::string("--text: ") + e.what());
  }
}

void GroundingDino::set_export_prompt(const std::string& caption) {
  if (caption.empty()) {
    export_text_ = {};
    return;
  }
  torch::NoGradGuard ng;
  export_text_ = encode_text(tokenize({gdino::preprocess_caption(caption)}));
}

std::vector<std::string> GroundingDino::export_input_names() const {
  if (export_text_.encoded.defined()) return {"images", "mask"};
  return {"images", "mask", "input_ids", "token_mask", "position_ids", "text_self_attention_mask"};
}

std::vector<torch::Tensor> GroundingDino::forward_tensors(const std::vector<torch::Tensor>& inputs) {
  TextFeatures text;
  if (inputs.size() == 2 && export_text_.encoded.defined()) {
    text = export_text_;
  } else if (inputs.size() == 6) {
    text = encode_text(inputs[2], inputs[3], inputs[4], inputs[5]);
  } else {
    throw RuntimeError(
        "Grounding DINO: forward_tensors takes (images, mask) with a baked prompt, or (images, mask, input_ids, "
        "token_mask, position_ids, text_self_attention_mask)");
  }
  auto out = forward(inputs[0], inputs[1], text);
  const int64_t L = out.logits.size(0);
  return {out.logits[L - 1], out.boxes[L - 1]};
}

std::vector<torch::Tensor> GroundingDino::example_inputs(int64_t height, int64_t width) const {
  auto dev = feat_map->weight.device();
  std::vector<torch::Tensor> in{torch::zeros({1, 3, height, width}, torch::TensorOptions().device(dev)),
                                torch::zeros({1, height, width}, torch::TensorOptions().dtype(torch::kBool).device(dev))};
  if (export_text_.encoded.defined()) return in;
  // Tracing fixes every size, so the open module takes its tokens padded to
  // max_text_len (padding: token_mask false, attends to itself only).
  auto t = tokenize({"a cat . a remote control ."});
  const int64_t L = options_.max_text_len, n = t.length();
  auto pad = [&](const torch::Tensor& x) {
    auto out = torch::zeros({1, L}, x.options());
    out.narrow(1, 0, n).copy_(x);
    return out.to(dev);
  };
  auto sa = torch::eye(L, torch::kBool).unsqueeze(0).clone();
  sa.narrow(1, 0, n).narrow(2, 0, n).copy_(t.self_attention_mask);
  in.push_back(pad(t.input_ids));
  in.push_back(pad(t.token_mask));
  in.push_back(pad(t.position_ids));
  in.push_back(sa.to(dev));
  return in;
}

}  // namespace seer
