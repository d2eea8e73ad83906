#include "core/visualize.h"

#include <opencv2/imgproc.hpp>

namespace seer {

namespace {
const cv::Scalar kPalette[] = {{230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},
                               {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
                               {210, 245, 60}, {250, 190, 212}, {0, 128, 128}, {170, 110, 40}};
cv::Scalar colour(int i) { return kPalette[((i % 12) + 12) % 12]; }
}  // namespace

cv::Mat draw_items(const cv::Mat& rgb, const std::vector<DrawItem>& items, const std::string& caption,
                   const torch::Tensor& masks) {
  cv::Mat out = rgb.clone();
  if (masks.defined() && masks.numel() > 0 && masks.size(1) == out.rows && masks.size(2) == out.cols) {
    auto m = masks.to(torch::kUInt8).contiguous();
    for (int64_t i = 0; i < m.size(0) && i < static_cast<int64_t>(items.size()); ++i) {
      cv::Mat mi(out.rows, out.cols, CV_8UC1, m[i].data_ptr<uint8_t>());
      cv::Mat layer(out.size(), out.type(), colour(items[i].color_index));
      cv::Mat blended;
      cv::addWeighted(out, 0.55, layer, 0.45, 0, blended);
      blended.copyTo(out, mi);
    }
  }
  const double scale = std::max(0.4, std::min(out.rows, out.cols) / 800.0);
  const int thick = std::max(1, static_cast<int>(std::round(2 * scale)));
  for (const auto& it : items) {
    cv::Point p1(static_cast<int>(it.box[0]), static_cast<int>(it.box[1]));
    cv::Point p2(static_cast<int>(it.box[2]), static_cast<int>(it.box[3]));
    cv::rectangle(out, p1, p2, colour(it.color_index), thick);
    if (!it.text.empty()) {
      int base = 0;
      cv::Size ts = cv::getTextSize(it.text, cv::FONT_HERSHEY_SIMPLEX, 0.5 * scale, 1, &base);
      cv::Point org(p1.x, std::max(ts.height + 2, p1.y - 2));
      cv::rectangle(out, {org.x, org.y - ts.height - 2}, {org.x + ts.width + 2, org.y + base}, colour(it.color_index),
                    cv::FILLED);
      cv::putText(out, it.text, {org.x + 1, org.y - 1}, cv::FONT_HERSHEY_SIMPLEX, 0.5 * scale, {0, 0, 0}, 1,
                  cv::LINE_AA);
    }
  }
  if (!caption.empty()) {
    cv::rectangle(out, {0, 0}, {out.cols, static_cast<int>(22 * scale)}, {0, 0, 0}, cv::FILLED);
    cv::putText(out, caption, {4, static_cast<int>(16 * scale)}, cv::FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                {255, 255, 255}, 1, cv::LINE_AA);
  }
  return out;
}

cv::Mat draw_target(const cv::Mat& rgb, const Target& t, const CategoryTable& categories) {
  std::vector<DrawItem> items;
  for (int64_t i = 0; i < t.num_boxes(); ++i) {
    auto b = t.boxes[i];
    int64_t label = t.labels.defined() ? t.labels[i].item<int64_t>() : 0;
    std::string name = label >= 0 && label < categories.size() ? categories.names[label] : std::to_string(label);
    items.push_back({{b[0].item<float>(), b[1].item<float>(), b[2].item<float>(), b[3].item<float>()},
                     name,
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
