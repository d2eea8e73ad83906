#pragma once
// 2-D position encodings of feature maps, computed from the padding mask
// (true = padding) so that each image is encoded over its own valid area.
//
// PositionEmbeddingSine (facebookresearch/detr models/position_encoding.py):
//   y = cumsum(~mask, H), x = cumsum(~mask, W)            (1-based pixel counts)
//   normalize: y = (y + offset) / (y[last row] + 1e-6) * scale   (same for x)
//   dim_t[i] = temperature ^ (2 * floor(i / 2) / num_pos_feats)
//   pos_y = interleave(sin(y / dim_t[0::2]), cos(y / dim_t[1::2])), same for x
//   output cat(pos_y, pos_x) on channels: [B, 2 * num_pos_feats, H, W].
// DETR uses offset 0; Deformable DETR and its descendants (DINO, Grounding
// DINO) use offset -0.5. No parameters.
//
// PositionEmbeddingLearned: row_embed / col_embed nn.Embedding(50, F) (uniform
// init); output cat(col, row) on channels (x first, unlike the sine). Feature
// maps larger than 50 in either side are an error.
#include <torch/torch.h>

#include <cmath>

namespace seer {

// The common interface (registered as `backbone.1` in DETR).
class PositionEmbedding : public torch::nn::Module {
 public:
  // mask [B, H, W] bool -> [B, C, H, W] float32
  virtual torch::Tensor forward(const torch::Tensor& mask) = 0;
};

struct PositionEmbeddingSineOptions {
  int64_t num_pos_feats = 128;  // per axis: output channels = 2 * num_pos_feats
  double temperature = 10000.0;
  bool normalize = true;
  double scale = 6.283185307179586;  // 2 pi
  double offset = 0.0;  // DETR 0; Deformable DETR -0.5
};

class PositionEmbeddingSine : public PositionEmbedding {
 public:
  explicit PositionEmbeddingSine(PositionEmbeddingSineOptions options = {});
  torch::Tensor forward(const torch::Tensor& mask) override;
  const PositionEmbeddingSineOptions& options() const { return options_; }

 private:
  PositionEmbeddingSineOptions options_;
};

class PositionEmbeddingLearned : public PositionEmbedding {
 public:
  explicit PositionEmbeddingLearned(int64_t num_pos_feats = 128, int64_t max_size = 50);
  torch::Tensor forward(const torch::Tensor& mask) override;

  torch::nn::Embedding row_embed{nullptr}, col_embed{nullptr};
};

}  // namespace seer
