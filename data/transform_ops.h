#pragma once
// The transform classes behind the `transforms:` table (see transforms.h), and the
// geometric primitives they share (resize, crop, flip of a whole Sample), which
// tests and other readers may call directly.
//
// Geometry follows facebookresearch/detr datasets/transforms.py (commit
// 29901c51d7fe8712168b8d0d64351170bc0f83e0): boxes are xyxy pixels, a crop drops
// the boxes it empties, a resize scales boxes and area by the side ratios.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "data/transforms.h"

namespace seer {

// ---------------------------------------------------------------- primitives

// DETR's get_size_with_aspect_ratio: the (h, w) an image of (w, h) gets when its
// short side goes to `size`, with the long side capped at `max_size` (<= 0: no cap).
std::array<int64_t, 2> detr_resize_hw(int64_t w, int64_t h, int64_t size, int64_t max_size);

// Resize image and target to exactly (h, w): boxes by the side ratios, area by
// their product, masks nearest (then > 0.5, as DETR).
void resize_sample(Sample& sample, int64_t h, int64_t w);

// Keep the region (top, left, height, width) of the image. Boxes are shifted and
// clamped into it; boxes left with zero width or height are dropped together
// with their label, mask, area, iscrowd and tokens_positive entry. The region
// must lie inside the image.
void crop_sample(Sample& sample, int64_t top, int64_t left, int64_t height, int64_t width);

// Mirror image, boxes and masks left-right and swap the words "left" and "right"
// in the caption, moving every tokens_positive span so it covers the same words.
void hflip_sample(Sample& sample);

// Swap the whole words left <-> right (also "Left"/"LEFT") in `caption` and move
// `spans` with the text. A span edge inside a swapped word snaps to that word's
// edge. Returns the new caption.
std::string swap_left_right(const std::string& caption, std::vector<std::vector<Span>>& spans);

// Keep only boxes `keep` (ascending indices) of a target, in every per-box field.
void select_boxes(Target& target, const std::vector<int64_t>& keep);

// ---------------------------------------------------------------- transforms

// (x - mean) / std on RGB scaled to [0,1]; turns the image into CV_32FC3.
// Defaults are the ImageNet statistics DETR uses.
class Normalize : public Transform {
 public:
  Normalize(std::array<double, 3> mean, std::array<double, 3> std) : mean_(mean), std_(std) {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return "normalize"; }
  const std::array<double, 3>& mean() const { return mean_; }
  const std::array<double, 3>& std() const { return std_; }

 private:
  std::array<double, 3> mean_, std_;
};
std::shared_ptr<Transform> read_normalize(const ConfigSection& s);

// How a transform list leaves its images, to draw them back (tensor_to_rgb): the mean
// and std of its last `normalize` transform; mean 0 and std 1 (values in [0,1]) without one.
struct ImageNormalisation {
  std::array<double, 3> mean{0, 0, 0}, std{1, 1, 1};
};
ImageNormalisation image_normalisation(const TransformList& transforms);

// DETR's RandomResize: short side drawn from `sizes` (one entry = a fixed
// resize), long side capped at `max_size` (<= 0: none); or, when `fixed_hw` is
// set, exactly that (h, w).
class Resize : public Transform {
 public:
  Resize(std::vector<int64_t> sizes, int64_t max_size, std::string name)
      : sizes_(std::move(sizes)), max_size_(max_size), name_(std::move(name)) {}
  explicit Resize(std::array<int64_t, 2> fixed_hw) : fixed_hw_(fixed_hw), name_("resize") {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return name_; }

 private:
  std::vector<int64_t> sizes_;
  int64_t max_size_ = 0;
  std::optional<std::array<int64_t, 2>> fixed_hw_;
  std::string name_;
};
std::shared_ptr<Transform> read_resize(const ConfigSection& s);
std::shared_ptr<Transform> read_random_resize(const ConfigSection& s);

// DETR's RandomSizeCrop: crop width in [min_size, min(W, max_size)], height
// likewise, at a uniform position (torchvision RandomCrop.get_params).
class RandomSizeCrop : public Transform {
 public:
  RandomSizeCrop(int64_t min_size, int64_t max_size) : min_size_(min_size), max_size_(max_size) {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return "random_size_crop"; }

 private:
  int64_t min_size_, max_size_;
};
std::shared_ptr<Transform> read_random_size_crop(const ConfigSection& s);

class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double p) : p_(p) {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return "random_horizontal_flip"; }

 private:
  double p_;
};
std::shared_ptr<Transform> read_random_horizontal_flip(const ConfigSection& s);

// torchvision ColorJitter: brightness, contrast, saturation factors drawn from
// [max(0, 1 - x), 1 + x], hue shift from [-hue, hue], the four applied in a random
// order; the whole jitter runs with probability p. Expects a uint8 image or a
// float image in [0,1] (i.e. before `normalize`). A hue shift changes what the
// colour words of a caption describe ("the red circle"), so it is off by default.
class ColorJitter : public Transform {
 public:
  ColorJitter(double brightness, double contrast, double saturation, double hue, double p)
      : brightness_(brightness), contrast_(contrast), saturation_(saturation), hue_(hue), p_(p) {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return "color_jitter"; }

 private:
  double brightness_, contrast_, saturation_, hue_, p_;
};
std::shared_ptr<Transform> read_color_jitter(const ConfigSection& s);

// DETR's RandomSelect: with probability p run `first`, else `second`.
class RandomSelect : public Transform {
 public:
  RandomSelect(TransformList first, TransformList second, double p)
      : first_(std::move(first)), second_(std::move(second)), p_(p) {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return "random_select"; }
  bool pads() const override;

 private:
  TransformList first_, second_;
  double p_;
};
std::shared_ptr<Transform> read_random_select(const ConfigSection& s);

// Zero-pad bottom/right, either up to a multiple of `size_divisor` or to a fixed
// (h, w). Boxes do not move; masks are padded with zeros.
class Pad : public Transform {
 public:
  Pad(int64_t size_divisor, std::optional<std::array<int64_t, 2>> size) : divisor_(size_divisor), size_(size) {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return "pad"; }
  bool pads() const override { return true; }

 private:
  int64_t divisor_;
  std::optional<std::array<int64_t, 2>> size_;
};
std::shared_ptr<Transform> read_pad(const ConfigSection& s);

}  // namespace seer
