#pragma once
// Drawing boxes, masks and captions on images (browse-data, predict --vis,
// validation visualisations in the run folder).
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "core/types.h"

namespace seer {

struct DrawItem {
  std::array<float, 4> box;  // xyxy pixels
  std::string text;          // "cat 0.87"
  int color_index = 0;       // picks a colour from a fixed palette
};

// Draw on a copy of an RGB uint8 image; `masks` [N,H,W] (optional) are blended in.
cv::Mat draw_items(const cv::Mat& rgb, const std::vector<DrawItem>& items, const std::string& caption = "",
                   const torch::Tensor& masks = {});

// Boxes of a Target with their class names.
cv::Mat draw_target(const cv::Mat& rgb, const Target& target, const CategoryTable& categories);

// A [3,H,W] normalised float tensor back to an RGB uint8 image.
cv::Mat tensor_to_rgb(const torch::Tensor& chw, const std::array<double, 3>& mean, const std::array<double, 3>& std);

}  // namespace seer
