#include "data/transform_ops.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "data/pil_resize.h"

namespace seer {

namespace F = torch::nn::functional;

// ================================================================ primitives

std::array<int64_t, 2> detr_resize_hw(int64_t w, int64_t h, int64_t size, int64_t max_size) {
  // detr datasets/transforms.py get_size_with_aspect_ratio (commit 29901c51): the cap
  // rounds, the long side truncates, and the short side already at `size` is kept
  // as it is. Done in double like Python's float.
  if (max_size > 0) {
    double min_side = static_cast<double>(std::min(w, h));
    double max_side = static_cast<double>(std::max(w, h));
    if (max_side / min_side * static_cast<double>(size) > static_cast<double>(max_size))
      size = static_cast<int64_t>(std::nearbyint(static_cast<double>(max_size) * min_side / max_side));
  }
  if ((w <= h && w == size) || (h <= w && h == size)) return {h, w};
  if (w < h) return {static_cast<int64_t>(static_cast<double>(size) * h / w), size};
  return {size, static_cast<int64_t>(static_cast<double>(size) * w / h)};
}

namespace {

// The image as a [1,3,H,W] float tensor (a copy), and back.
torch::Tensor mat_to_nchw(const cv::Mat& img) {
  cv::Mat cont = img.isContinuous() ? img : img.clone();
  auto dtype = cont.depth() == CV_8U ? torch::kUInt8 : torch::kFloat32;
  return torch::from_blob(cont.data, {1, cont.rows, cont.cols, 3}, dtype).permute({0, 3, 1, 2}).to(torch::kFloat32);
}

cv::Mat nchw_to_mat(torch::Tensor t, int depth) {
  t = t[0].permute({1, 2, 0});
  if (depth == CV_8U) t = t.round().clamp(0, 255).to(torch::kUInt8);
  t = t.contiguous();
  cv::Mat out(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), depth == CV_8U ? CV_8UC3 : CV_32FC3);
  std::memcpy(out.data, t.data_ptr(), t.numel() * t.element_size());
  return out;
}

void check_image(const cv::Mat& img, const char* who) {
  if (img.empty() || img.channels() != 3 || (img.depth() != CV_8U && img.depth() != CV_32F))
    throw RuntimeError(std::string(who) + ": expected a 3-channel uint8 or float32 image");
}

}  // namespace

void resize_sample(Sample& sample, int64_t h, int64_t w) {
  check_image(sample.image, "resize");
  const int64_t old_h = sample.image.rows, old_w = sample.image.cols;
  if (h == old_h && w == old_w) return;
  // DETR resizes PIL images with BILINEAR, which PIL antialiases when shrinking
  // (the filter support widens with the scale); cv::resize INTER_LINEAR does not and
  // aliases badly below ~0.5x. 8-bit images (what the readers give) go through our
  // bit-exact PIL resampler (data/pil_resize.h), ~3.5x faster than the float
  // path. Float images (after photometric transforms) use torch's bilinear with
  // antialias=true, the same separable kernel without PIL's rounding between passes.
  if (sample.image.depth() == CV_8U) {
    sample.image = pil_bilinear_resize(sample.image, static_cast<int>(h), static_cast<int>(w));
  } else {
    torch::Tensor img = mat_to_nchw(sample.image);
    img = F::interpolate(img, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{h, w})
                                  .mode(torch::kBilinear)
                                  .align_corners(false)
                                  .antialias(true));
    sample.image = nchw_to_mat(img, sample.image.depth());
  }

  Target& t = sample.target;
  const double rw = static_cast<double>(w) / old_w, rh = static_cast<double>(h) / old_h;
  if (t.boxes.defined() && t.boxes.numel() > 0)
    t.boxes = t.boxes * torch::tensor({rw, rh, rw, rh}, torch::kFloat32);
  if (t.area.defined()) t.area = t.area * static_cast<float>(rw * rh);
  if (t.masks.defined()) {
    if (t.masks.size(0) == 0) {
      t.masks = torch::zeros({0, h, w}, torch::kUInt8);
    } else {
      // DETR: interpolate(masks.float(), mode="nearest") > 0.5
      auto m = F::interpolate(t.masks.unsqueeze(1).to(torch::kFloat32),
                              F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kNearest));
      t.masks = (m.squeeze(1) > 0.5).to(torch::kUInt8);
    }
  }
  t.size = {h, w};
}

void select_boxes(Target& t, const std::vector<int64_t>& keep) {
  const int64_t n = t.num_boxes();
  if (static_cast<int64_t>(keep.size()) == n) return;
  auto idx = torch::tensor(keep, torch::kInt64);
  auto take = [&](torch::Tensor& x) {
    if (x.defined() && x.dim() > 0 && x.size(0) == n) x = x.index_select(0, idx);
  };
  take(t.boxes);
  take(t.labels);
  take(t.masks);
  take(t.iscrowd);
  take(t.area);
  if (static_cast<int64_t>(t.tokens_positive.size()) == n) {
    std::vector<std::vector<Span>> kept;
    kept.reserve(keep.size());
    for (int64_t k : keep) kept.push_back(std::move(t.tokens_positive[k]));
    t.tokens_positive = std::move(kept);
  }
}

void crop_sample(Sample& sample, int64_t top, int64_t left, int64_t height, int64_t width) {
  check_image(sample.image, "crop");
  if (top < 0 || left < 0 || height <= 0 || width <= 0 || top + height > sample.image.rows ||
      left + width > sample.image.cols)
    throw RuntimeError("crop: region outside the image");
  sample.image = sample.image(cv::Rect(static_cast<int>(left), static_cast<int>(top), static_cast<int>(width),
                                       static_cast<int>(height)))
                     .clone();
  Target& t = sample.target;
  t.size = {height, width};
  if (t.masks.defined())
    t.masks = t.masks.narrow(1, top, height).narrow(2, left, width).contiguous();
  if (!t.boxes.defined() || t.boxes.size(0) == 0) return;
  // detr crop(): shift, clamp into [0, (w, h)], and the cropped box area replaces
  // `area` (the official code does so too, even for mask annotations).
  auto b = t.boxes - torch::tensor({left, top, left, top}, torch::kFloat32);
  b = torch::min(b.reshape({-1, 2, 2}), torch::tensor({width, height}, torch::kFloat32)).clamp_min(0);
  t.area = (b.select(1, 1) - b.select(1, 0)).prod(1);
  t.boxes = b.reshape({-1, 4});
  auto keep_mask = (b.select(1, 1) > b.select(1, 0)).all(1);
  auto keep_t = keep_mask.nonzero().reshape({-1});
  std::vector<int64_t> keep(keep_t.data_ptr<int64_t>(), keep_t.data_ptr<int64_t>() + keep_t.numel());
  select_boxes(t, keep);
}

std::string swap_left_right(const std::string& caption, std::vector<std::vector<Span>>& spans) {
  // Grounding code (e.g. MDETR's hflip) swaps the words so that the text still
  // describes the mirrored image; we swap whole words only ("leftover" stays).
  struct Edit {
    int64_t old_b, old_e, new_b, new_e;
  };
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || (c & 0x80) || c == '_'; };
  auto swapped = [](const std::string& w) -> std::string {
    static const std::pair<const char*, const char*> pairs[] = {
        {"left", "right"}, {"Left", "Right"}, {"LEFT", "RIGHT"}, {"right", "left"}, {"Right", "Left"}, {"RIGHT", "LEFT"}};
    for (const auto& p : pairs)
      if (w == p.first) return p.second;
    return "";
  };
  std::string out;
  std::vector<Edit> edits;
  const int64_t n = static_cast<int64_t>(caption.size());
  int64_t i = 0;
  while (i < n) {
    if (!is_word(caption[i])) {
      out += caption[i++];
      continue;
    }
    int64_t j = i;
    while (j < n && is_word(caption[j])) ++j;
    std::string word = caption.substr(i, j - i);
    std::string rep = swapped(word);
    if (rep.empty()) {
      out += word;
    } else {
      int64_t nb = static_cast<int64_t>(out.size());
      out += rep;
      edits.push_back({i, j, nb, static_cast<int64_t>(out.size())});
    }
    i = j;
  }
  if (edits.empty()) return caption;
  auto map = [&](int64_t o, bool is_end) {
    int64_t delta = 0;
    for (const Edit& e : edits) {
      if (o <= e.old_b) break;
      if (o >= e.old_e) {
        delta = e.new_e - e.old_e;
        continue;
      }
      return is_end ? e.new_e : e.new_b;  // inside a swapped word: snap to its edge
    }
    return o + delta;
  };
  for (auto& box_spans : spans)
    for (Span& s : box_spans) s = Span{map(s.begin, false), map(s.end, true)};
  return out;
}

void hflip_sample(Sample& sample) {
  check_image(sample.image, "flip");
  const int64_t w = sample.image.cols;
  cv::Mat flipped;
  cv::flip(sample.image, flipped, 1);
  sample.image = flipped;
  Target& t = sample.target;
  if (t.boxes.defined() && t.boxes.numel() > 0) {
    // (x1, y1, x2, y2) -> (w - x2, y1, w - x1, y2)
    auto b = t.boxes.index_select(1, torch::tensor({2, 1, 0, 3}, torch::kInt64));
    t.boxes = b * torch::tensor({-1.f, 1.f, -1.f, 1.f}) + torch::tensor({static_cast<float>(w), 0.f, static_cast<float>(w), 0.f});
  }
  if (t.masks.defined()) t.masks = t.masks.flip({-1}).contiguous();
  if (!t.caption.empty()) t.caption = swap_left_right(t.caption, t.tokens_positive);
}

// ================================================================ transforms

void Normalize::apply(Sample& sample, SampleRng&) const {
  cv::Mat f;
  if (sample.image.depth() == CV_8U) sample.image.convertTo(f, CV_32FC3, 1.0 / 255.0);
  else f = sample.image;  // already float in [0,1]
  cv::subtract(f, cv::Scalar(mean_[0], mean_[1], mean_[2]), f);
  cv::divide(f, cv::Scalar(std_[0], std_[1], std_[2]), f);
  sample.image = f;
}

std::shared_ptr<Transform> read_normalize(const ConfigSection& s) {
  auto mean = s.get<std::vector<double>>("mean", {0.485, 0.456, 0.406}, "per-channel RGB mean (of [0,1] values)");
  auto stdv = s.get<std::vector<double>>("std", {0.229, 0.224, 0.225}, "per-channel RGB std");
  if (mean.size() != 3) s.fail("mean", "expects 3 values");
  if (stdv.size() != 3) s.fail("std", "expects 3 values");
  for (double v : stdv)
    if (v <= 0) s.fail("std", "values must be > 0");
  return std::make_shared<Normalize>(std::array<double, 3>{mean[0], mean[1], mean[2]},
                                     std::array<double, 3>{stdv[0], stdv[1], stdv[2]});
}

ImageNormalisation image_normalisation(const TransformList& transforms) {
  ImageNormalisation out;
  for (const auto& t : transforms)
    if (auto n = std::dynamic_pointer_cast<Normalize>(t)) out = {n->mean(), n->std()};
  return out;
}

// ---------------------------------------------------------------- resize

void Resize::apply(Sample& sample, SampleRng& rng) const {
  if (fixed_hw_) {
    resize_sample(sample, (*fixed_hw_)[0], (*fixed_hw_)[1]);
    return;
  }
  int64_t size = sizes_.size() == 1 ? sizes_[0] : sizes_[rng.randint(0, static_cast<int64_t>(sizes_.size()) - 1)];
  auto hw = detr_resize_hw(sample.image.cols, sample.image.rows, size, max_size_);
  resize_sample(sample, hw[0], hw[1]);
}

namespace {

int64_t read_max_size(const ConfigSection& s) {
  auto m = s.optional<int64_t>("max_size", "cap on the long side after resizing (null = none)");
  if (m && *m <= 0) s.fail("max_size", "must be > 0, got " + std::to_string(*m));
  return m ? *m : 0;
}

std::array<int64_t, 2> check_hw(const ConfigSection& s, const std::string& key, const std::vector<int64_t>& v) {
  if (v.size() != 2) s.fail(key, "expects [h, w]");
  if (v[0] <= 0 || v[1] <= 0) s.fail(key, "sizes must be > 0");
  return {v[0], v[1]};
}

}  // namespace

std::shared_ptr<Transform> read_resize(const ConfigSection& s) {
  const std::string doc = "short side in pixels (long side keeps the aspect ratio), or [h, w]";
  if (!s.has("size")) s.require<int64_t>("size", doc);  // throws "is required"
  std::optional<int64_t> size;
  std::vector<int64_t> hw;
  try {
    size = s.require<int64_t>("size", doc);
  } catch (const ConfigError&) {
    try {
      hw = s.require<std::vector<int64_t>>("size", doc);
    } catch (const ConfigError&) {
      s.fail("size", "expects an int (short side) or [h, w]");
    }
  }
  int64_t max_size = read_max_size(s);
  if (size) {
    if (*size <= 0) s.fail("size", "must be > 0, got " + std::to_string(*size));
    return std::make_shared<Resize>(std::vector<int64_t>{*size}, max_size, "resize");
  }
  if (max_size > 0) s.fail("max_size", "applies to a short-side size only, not to a fixed [h, w]");
  return std::make_shared<Resize>(check_hw(s, "size", hw));
}

std::shared_ptr<Transform> read_random_resize(const ConfigSection& s) {
  auto sizes = s.require<std::vector<int64_t>>("sizes", "short-side sizes, one drawn per sample");
  if (sizes.empty()) s.fail("sizes", "must not be empty");
  for (int64_t v : sizes)
    if (v <= 0) s.fail("sizes", "sizes must be > 0, got " + std::to_string(v));
  return std::make_shared<Resize>(sizes, read_max_size(s), "random_resize");
}

// ---------------------------------------------------------------- crop

void RandomSizeCrop::apply(Sample& sample, SampleRng& rng) const {
  const int64_t img_h = sample.image.rows, img_w = sample.image.cols;
  // Python's randint(min_size, min(W, max_size)) raises for an image narrower
  // than min_size; we crop such a side whole instead.
  int64_t w = rng.randint(std::min(min_size_, img_w), std::min(img_w, max_size_));
  int64_t h = rng.randint(std::min(min_size_, img_h), std::min(img_h, max_size_));
  // torchvision RandomCrop.get_params: top then left, uniform; no draw for a full crop
  if (w == img_w && h == img_h) return;
  int64_t top = rng.randint(0, img_h - h);
  int64_t left = rng.randint(0, img_w - w);
  crop_sample(sample, top, left, h, w);
}

std::shared_ptr<Transform> read_random_size_crop(const ConfigSection& s) {
  auto lo = s.require<int64_t>("min_size", "smallest crop side in pixels");
  auto hi = s.require<int64_t>("max_size", "largest crop side in pixels (also capped by the image)");
  if (lo <= 0) s.fail("min_size", "must be > 0, got " + std::to_string(lo));
  if (hi < lo) s.fail("max_size", "must be >= min_size (" + std::to_string(lo) + "), got " + std::to_string(hi));
  return std::make_shared<RandomSizeCrop>(lo, hi);
}

// ---------------------------------------------------------------- flip

void RandomHorizontalFlip::apply(Sample& sample, SampleRng& rng) const {
  if (rng.uniform() < p_) hflip_sample(sample);
}

namespace {
double read_probability(const ConfigSection& s, double def, const std::string& doc) {
  double p = s.get<double>("p", def, doc);
  if (p < 0 || p > 1) s.fail("p", "must be in [0, 1], got " + std::to_string(p));
  return p;
}
}  // namespace

std::shared_ptr<Transform> read_random_horizontal_flip(const ConfigSection& s) {
  return std::make_shared<RandomHorizontalFlip>(read_probability(s, 0.5, "probability of flipping"));
}

// ---------------------------------------------------------------- colour

namespace {

// torchvision's grayscale weights (functional_tensor.rgb_to_grayscale)
cv::Mat grayscale(const cv::Mat& rgb) {
  cv::Mat g;
  cv::transform(rgb, g, cv::Matx13f(0.2989f, 0.587f, 0.114f));
  return g;
}

void clamp01(cv::Mat& m) {
  cv::min(m, 1.0, m);
  cv::max(m, 0.0, m);
}

}  // namespace

void ColorJitter::apply(Sample& sample, SampleRng& rng) const {
  if (p_ < 1.0 && !(rng.uniform() < p_)) return;
  check_image(sample.image, "color_jitter");
  // ColorJitter.get_params: the order first, then one factor per enabled op.
  std::array<int, 4> order{0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[i], order[rng.randint(0, i)]);
  auto factor = [&](double x) { return x > 0 ? rng.uniform(std::max(0.0, 1 - x), 1 + x) : -1.0; };
  const double fb = factor(brightness_), fc = factor(contrast_), fs = factor(saturation_);
  const double fh = hue_ > 0 ? rng.uniform(-hue_, hue_) : 0.0;

  const bool u8 = sample.image.depth() == CV_8U;
  cv::Mat img;
  sample.image.convertTo(img, CV_32FC3, u8 ? 1.0 / 255.0 : 1.0);
  for (int op : order) {
    if (op == 0 && fb >= 0) {  // blend with black
      img *= fb;
      clamp01(img);
    } else if (op == 1 && fc >= 0) {  // blend with the mean grey level
      double mean = cv::mean(grayscale(img))[0];
      img = img * fc + cv::Scalar::all((1 - fc) * mean);
      clamp01(img);
    } else if (op == 2 && fs >= 0) {  // blend with the grey image
      cv::Mat g = grayscale(img), g3;
      cv::merge(std::vector<cv::Mat>{g, g, g}, g3);
      cv::addWeighted(img, fs, g3, 1 - fs, 0.0, img);
      clamp01(img);
    } else if (op == 3 && hue_ > 0) {  // rotate the hue circle
      cv::Mat hsv;
      cv::cvtColor(img, hsv, cv::COLOR_RGB2HSV);  // float: H in degrees [0, 360)
      const float shift = static_cast<float>(fh * 360.0);
      for (int y = 0; y < hsv.rows; ++y) {
        auto* row = hsv.ptr<cv::Vec3f>(y);
        for (int x = 0; x < hsv.cols; ++x) {
          float h = row[x][0] + shift;
          h = std::fmod(h, 360.f);
          if (h < 0) h += 360.f;
          row[x][0] = h;
        }
      }
      cv::cvtColor(hsv, img, cv::COLOR_HSV2RGB);
      clamp01(img);
    }
  }
  if (u8) img.convertTo(sample.image, CV_8UC3, 255.0);  // saturating, rounds to nearest
  else sample.image = img;
}

std::shared_ptr<Transform> read_color_jitter(const ConfigSection& s) {
  auto nonneg = [&](const char* key, double def, const char* doc) {
    double v = s.get<double>(key, def, doc);
    if (v < 0) s.fail(key, "must be >= 0, got " + std::to_string(v));
    return v;
  };
  double b = nonneg("brightness", 0.4, "brightness factor drawn from [max(0, 1-x), 1+x] (0 = off)");
  double c = nonneg("contrast", 0.4, "contrast factor drawn from [max(0, 1-x), 1+x] (0 = off)");
  double sat = nonneg("saturation", 0.4, "saturation factor drawn from [max(0, 1-x), 1+x] (0 = off)");
  double h = nonneg("hue", 0.0, "hue shift drawn from [-x, x] of the colour circle, x <= 0.5 (0 = off; breaks colour words in captions)");
  if (h > 0.5) s.fail("hue", "must be <= 0.5, got " + std::to_string(h));
  double p = read_probability(s, 1.0, "probability of jittering a sample");
  return std::make_shared<ColorJitter>(b, c, sat, h, p);
}

// ---------------------------------------------------------------- select

bool RandomSelect::pads() const {
  for (const auto* list : {&first_, &second_})
    for (const auto& t : *list)
      if (t->pads()) return true;
  return false;
}

void RandomSelect::apply(Sample& sample, SampleRng& rng) const {
  apply_transforms(rng.uniform() < p_ ? first_ : second_, sample, rng);
}

std::shared_ptr<Transform> read_random_select(const ConfigSection& s) {
  double p = read_probability(s, 0.5, "probability of running `first` (else `second`)");
  TransformList first = read_transforms(s, "first", "transforms run with probability p");
  TransformList second = read_transforms(s, "second", "transforms run with probability 1 - p");
  return std::make_shared<RandomSelect>(std::move(first), std::move(second), p);
}

// ---------------------------------------------------------------- pad

void Pad::apply(Sample& sample, SampleRng&) const {
  check_image(sample.image, "pad");
  const int64_t h = sample.image.rows, w = sample.image.cols;
  sample.target.size = {h, w};  // the valid region, before padding
  int64_t th, tw;
  if (size_) {
    th = (*size_)[0];
    tw = (*size_)[1];
    if (th < h || tw < w)
      throw RuntimeError("pad: image " + std::to_string(h) + "x" + std::to_string(w) + " is larger than size [" +
                         std::to_string(th) + ", " + std::to_string(tw) + "]");
  } else {
    th = (h + divisor_ - 1) / divisor_ * divisor_;
    tw = (w + divisor_ - 1) / divisor_ * divisor_;
  }
  if (th == h && tw == w) return;
  cv::Mat out;
  cv::copyMakeBorder(sample.image, out, 0, static_cast<int>(th - h), 0, static_cast<int>(tw - w), cv::BORDER_CONSTANT,
                     cv::Scalar::all(0));
  sample.image = out;
  Target& t = sample.target;
  if (t.masks.defined()) t.masks = torch::constant_pad_nd(t.masks, {0, tw - w, 0, th - h}, 0);
}

std::shared_ptr<Transform> read_pad(const ConfigSection& s) {
  int64_t div = s.get<int64_t>("size_divisor", 0, "pad H and W up to a multiple of this (0 = use `size`)");
  auto size = s.optional<std::vector<int64_t>>("size", "pad to this fixed [h, w] instead");
  if (div < 0) s.fail("size_divisor", "must be >= 0, got " + std::to_string(div));
  if ((div > 0) == size.has_value()) s.fail("size_divisor", "set exactly one of size_divisor and size");
  std::optional<std::array<int64_t, 2>> hw;
  if (size) hw = check_hw(s, "size", *size);
  return std::make_shared<Pad>(div, hw);
}

}  // namespace seer
