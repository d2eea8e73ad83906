#pragma once
// Drawing boxes, masks and captions on images (browse-data, and through
// core/predictions.h predict --vis and the run folder's vis/).
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "core/types.h"

namespace seer {

struct DrawItem {
  std::array<float, 4> box;  // xyxy pixels of the input image
  std::string text;          // "cat 0.87"
  int color_index = 0;       // picks a colour from a fixed palette
};

// Images whose short side is below this are enlarged by an integer factor before
// drawing (128 px -> 512 px), so a label is small next to the objects it names.
constexpr int kMinDrawnShortSide = 480;
// The integer factor draw_items enlarges an image of (height, width) by (1 = none; at most 8).
int draw_upscale(int height, int width);

// Draws on a copy of an RGB uint8 image and returns it, enlarged by
// draw_upscale(): each item's box with its text on a filled label (above the box
// when there is room), `masks` [N,H,W] (optional; floating ones are foreground
// above 0.5; any size, stretched to the image) blended in with item i's colour, and
// `caption` (lines split at '\n' and wrapped to the width) in a band added above
// the image, so that it covers nothing.
cv::Mat draw_items(const cv::Mat& rgb, const std::vector<DrawItem>& items, const std::string& caption = "",
                   const torch::Tensor& masks = {});

// Boxes of a Target with their class names.
cv::Mat draw_target(const cv::Mat& rgb, const Target& target, const CategoryTable& categories);

// A [3,H,W] normalised float tensor back to an RGB uint8 image.
cv::Mat tensor_to_rgb(const torch::Tensor& chw, const std::array<double, 3>& mean, const std::array<double, 3>& std);

}  // namespace seer
