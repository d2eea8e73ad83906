#include "core/visualize.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/predictions.h"

namespace seer {

namespace {

const cv::Scalar kPalette[] = {{230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},
                               {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
                               {210, 245, 60}, {250, 190, 212}, {0, 128, 128}, {170, 110, 40}};
cv::Scalar colour(int i) { return kPalette[((i % 12) + 12) % 12]; }

// Black on light label colours, white on dark ones (RGB).
cv::Scalar text_colour(const cv::Scalar& bg) {
  const double luma = 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2];
  return luma > 140 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
}

// Sizes of the drawing for an image whose short side is `side` pixels (after enlarging).
struct Style {
  double font;
  int box_thickness, text_thickness;
  explicit Style(int side)
      : font(std::clamp(side / 1000.0, 0.45, 1.5)),
        box_thickness(std::max(2, static_cast<int>(std::lround(side / 320.0)))),
        text_thickness(std::max(1, static_cast<int>(std::lround(font * 1.6)))) {}
};

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// `text` split at '\n' and at spaces so that no line is wider than `width` pixels
// (a single word wider than that stays whole).
std::vector<std::string> wrap_lines(const std::string& text, int width, const Style& st) {
  std::vector<std::string> out;
  std::istringstream paragraphs(text);
  std::string paragraph;
  while (std::getline(paragraphs, paragraph)) {
    std::istringstream words(paragraph);
    std::string word, line;
    while (words >> word) {
      std::string longer = line.empty() ? word : line + " " + word;
      int base = 0;
      if (!line.empty() && cv::getTextSize(longer, kFont, st.font, st.text_thickness, &base).width > width) {
        out.push_back(line);
        line = word;
      } else {
        line = longer;
      }
    }
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Masks [N,H,W] or [N,1,H,W] of any dtype as 0/1 uint8 [N,H,W] on the CPU.
torch::Tensor binary_masks(const torch::Tensor& masks) {
  torch::Tensor m = masks.detach().cpu();
  if (m.dim() == 4) m = m.squeeze(1);
  m = m.is_floating_point() ? m.gt(0.5) : m.ne(0);
  return m.to(torch::kUInt8).contiguous();
}

void blend_masks(cv::Mat& out, const torch::Tensor& masks, const std::vector<DrawItem>& items) {
  if (!masks.defined() || masks.numel() == 0 || masks.dim() < 3) return;
  torch::Tensor m = binary_masks(masks);
  for (int64_t i = 0; i < m.size(0) && i < static_cast<int64_t>(items.size()); ++i) {
    cv::Mat mi(static_cast<int>(m.size(1)), static_cast<int>(m.size(2)), CV_8UC1, m[i].data_ptr<uint8_t>());
    if (mi.size() != out.size()) cv::resize(mi, mi, out.size(), 0, 0, cv::INTER_NEAREST);
    cv::Mat layer(out.size(), out.type(), colour(items[i].color_index)), blended;
    cv::addWeighted(out, 0.55, layer, 0.45, 0, blended);
    blended.copyTo(out, mi);
  }
}

void draw_box(cv::Mat& out, const DrawItem& it, double f, const Style& st) {
  const cv::Scalar c = colour(it.color_index);
  cv::Point p1(static_cast<int>(std::lround(it.box[0] * f)), static_cast<int>(std::lround(it.box[1] * f)));
  cv::Point p2(static_cast<int>(std::lround(it.box[2] * f)), static_cast<int>(std::lround(it.box[3] * f)));
  cv::rectangle(out, p1, p2, c, st.box_thickness, cv::LINE_AA);
  if (it.text.empty()) return;
  int base = 0;
  const cv::Size ts = cv::getTextSize(it.text, kFont, st.font, st.text_thickness, &base);
  const int pad = std::max(2, ts.height / 4), label_h = ts.height + base + pad;
  // above the box when it fits, else just inside its top edge
  int top = p1.y - label_h >= 0 ? p1.y - label_h : std::max(0, p1.y);
  int left = std::max(0, std::min(p1.x, out.cols - ts.width - 2 * pad));
  cv::rectangle(out, {left, top}, {left + ts.width + 2 * pad, top + label_h}, c, cv::FILLED);
  cv::putText(out, it.text, {left + pad, top + ts.height + pad / 2}, kFont, st.font, text_colour(c), st.text_thickness,
              cv::LINE_AA);
}

}  // namespace

int draw_upscale(int height, int width) {
  const int side = std::min(height, width);
  if (side <= 0 || side >= kMinDrawnShortSide) return 1;
  return std::min(8, (kMinDrawnShortSide + side - 1) / side);
}

cv::Mat draw_items(const cv::Mat& rgb, const std::vector<DrawItem>& items, const std::string& caption,
                   const torch::Tensor& masks) {
  const int f = draw_upscale(rgb.rows, rgb.cols);
  cv::Mat out;
  if (f > 1) cv::resize(rgb, out, {rgb.cols * f, rgb.rows * f}, 0, 0, cv::INTER_LINEAR);
  else out = rgb.clone();
  const Style st(std::min(out.rows, out.cols));
  blend_masks(out, masks, items);
  for (const auto& it : items) draw_box(out, it, f, st);
  if (caption.empty()) return out;

  const int margin = 6;
  const auto lines = wrap_lines(caption, out.cols - 2 * margin, st);
  if (lines.empty()) return out;
  int base = 0;
  const int line_h = cv::getTextSize("Ag", kFont, st.font, st.text_thickness, &base).height + base + margin;
  cv::Mat band(line_h * static_cast<int>(lines.size()) + margin, out.cols, out.type(), cv::Scalar(0, 0, 0));
  for (size_t i = 0; i < lines.size(); ++i)
    cv::putText(band, lines[i], {margin, margin + static_cast<int>(i + 1) * line_h - base - margin / 2}, kFont, st.font,
                {255, 255, 255}, st.text_thickness, cv::LINE_AA);
  cv::Mat framed;
  cv::vconcat(band, out, framed);
  return framed;
}

cv::Mat draw_target(const cv::Mat& rgb, const Target& t, const CategoryTable& categories) {
  std::vector<DrawItem> items;
  for (int64_t i = 0; i < t.num_boxes(); ++i) {
    auto b = t.boxes[i];
    int64_t label = t.labels.defined() ? t.labels[i].item<int64_t>() : 0;
    items.push_back({{b[0].item<float>(), b[1].item<float>(), b[2].item<float>(), b[3].item<float>()},
                     category_name(categories, label),
                     static_cast<int>(label)});
  }
  return draw_items(rgb, items, t.caption, t.masks);
}

cv::Mat tensor_to_rgb(const torch::Tensor& chw, const std::array<double, 3>& mean, const std::array<double, 3>& std) {
  auto m = torch::tensor({mean[0], mean[1], mean[2]}, torch::kFloat32).view({3, 1, 1});
  auto s = torch::tensor({std[0], std[1], std[2]}, torch::kFloat32).view({3, 1, 1});
  auto img = (chw.to(torch::kFloat32).cpu() * s + m).clamp(0, 1).mul(255).round().to(torch::kUInt8);
  img = img.permute({1, 2, 0}).contiguous();
  cv::Mat out(static_cast<int>(img.size(0)), static_cast<int>(img.size(1)), CV_8UC3, img.data_ptr<uint8_t>());
  return out.clone();
}

}  // namespace seer
