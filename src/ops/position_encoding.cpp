#include "ops/position_encoding.h"

#include "core/error.h"

namespace seer {

namespace {

void check_mask(const torch::Tensor& mask, const char* who) {
  if (!mask.defined() || mask.dim() != 3 || mask.scalar_type() != torch::kBool)
    throw RuntimeError(std::string(who) + ": mask must be a [B, H, W] bool tensor");
}

// [B, H, W, F] angles -> sin on even channels, cos on odd ones, interleaved.
torch::Tensor interleave_sin_cos(const torch::Tensor& a) {
  using torch::indexing::Slice;
  auto s = a.index({Slice(), Slice(), Slice(), Slice(0, torch::indexing::None, 2)}).sin();
  auto c = a.index({Slice(), Slice(), Slice(), Slice(1, torch::indexing::None, 2)}).cos();
  return torch::stack({s, c}, 4).flatten(3);  // [B, H, W, F]
}

}  // namespace

PositionEmbeddingSine::PositionEmbeddingSine(PositionEmbeddingSineOptions options) : options_(options) {}

torch::Tensor PositionEmbeddingSine::forward(const torch::Tensor& mask) {
  using torch::indexing::Slice;
  check_mask(mask, "PositionEmbeddingSine");
  const auto& o = options_;
  auto not_mask = mask.logical_not();
  auto y = not_mask.cumsum(1, torch::kFloat);  // [B, H, W]
  auto x = not_mask.cumsum(2, torch::kFloat);
  if (o.normalize) {
    const double eps = 1e-6;
    y = (y + o.offset) / (y.index({Slice(), Slice(-1, torch::indexing::None), Slice()}) + eps) * o.scale;
    x = (x + o.offset) / (x.index({Slice(), Slice(), Slice(-1, torch::indexing::None)}) + eps) * o.scale;
  }
  auto dim_t = torch::arange(o.num_pos_feats, mask.options().dtype(torch::kFloat));
  dim_t = torch::pow(o.temperature, 2 * torch::div(dim_t, 2, "floor") / static_cast<double>(o.num_pos_feats));
  auto pos_x = interleave_sin_cos(x.unsqueeze(-1) / dim_t);  // [B, H, W, F]
  auto pos_y = interleave_sin_cos(y.unsqueeze(-1) / dim_t);
  return torch::cat({pos_y, pos_x}, 3).permute({0, 3, 1, 2});  // [B, 2F, H, W]
}

PositionEmbeddingLearned::PositionEmbeddingLearned(int64_t num_pos_feats, int64_t max_size) {
  row_embed = register_module("row_embed", torch::nn::Embedding(max_size, num_pos_feats));
  col_embed = register_module("col_embed", torch::nn::Embedding(max_size, num_pos_feats));
  torch::NoGradGuard ng;
  torch::nn::init::uniform_(row_embed->weight);
  torch::nn::init::uniform_(col_embed->weight);
}

torch::Tensor PositionEmbeddingLearned::forward(const torch::Tensor& mask) {
  check_mask(mask, "PositionEmbeddingLearned");
  const int64_t B = mask.size(0), h = mask.size(1), w = mask.size(2);
  const int64_t max_size = row_embed->weight.size(0);
  if (h > max_size || w > max_size)
    throw RuntimeError("PositionEmbeddingLearned: feature map " + std::to_string(h) + "x" + std::to_string(w) +
                       " exceeds the " + std::to_string(max_size) + " learned positions per side");
  auto opts = mask.options().dtype(torch::kLong);
  auto x_emb = col_embed->forward(torch::arange(w, opts));  // [w, F]
  auto y_emb = row_embed->forward(torch::arange(h, opts));  // [h, F]
  auto pos = torch::cat({x_emb.unsqueeze(0).repeat({h, 1, 1}), y_emb.unsqueeze(1).repeat({1, w, 1})}, -1);
  return pos.permute({2, 0, 1}).unsqueeze(0).repeat({B, 1, 1, 1});  // [B, 2F, h, w]
}

}  // namespace seer
