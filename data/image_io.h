#pragma once
#include <opencv2/core.hpp>
#include <string>

namespace seer {

// Decode an image file to RGB uint8 (HxWx3). Grey and RGBA images are
// converted; EXIF orientation is ignored, as PIL.Image.open does by default.
// Throws DataError naming the file when it is missing or cannot be decoded.
cv::Mat read_image_rgb(const std::string& path);

// Write an RGB uint8 image (.jpg/.png by extension). Throws RuntimeError on failure.
void write_image_rgb(const std::string& path, const cv::Mat& rgb);

}  // namespace seer
