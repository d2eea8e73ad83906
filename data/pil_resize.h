#pragma once
// PIL's BILINEAR resampling of 8-bit images (what torchvision's F.resize does on
// the PIL images the official DETR-family pipelines load), bit for bit:
// separable, horizontal pass then vertical, each skipped when its size does not
// change; a triangle filter whose support widens with the shrink factor (so
// shrinking is antialiased); per-output weights normalised to sum 1, turned into
// 22-bit fixed point (rounded half away from zero), accumulated from 2^21 (so
// the shift rounds) and clamped to 0..255 after each pass.
#include <opencv2/core.hpp>

namespace seer {

// `src`: CV_8U with 1..4 channels (an ROI is fine). Returns a new h x w image of
// the same type; std::invalid_argument for another depth or an empty size.
cv::Mat pil_bilinear_resize(const cv::Mat& src, int h, int w);

}  // namespace seer
