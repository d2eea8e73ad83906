#include "data/collate.h"

#include "core/error.h"

namespace seer {

torch::Tensor image_to_tensor(const cv::Mat& image) {
  if (image.empty() || image.channels() != 3)
    throw RuntimeError("collate: expected a 3-channel image");
  cv::Mat cont = image.isContinuous() ? image : image.clone();
  torch::Tensor hwc;
  if (cont.depth() == CV_8U) {
    hwc = torch::from_blob(cont.data, {cont.rows, cont.cols, 3}, torch::kUInt8).to(torch::kFloat32).div_(255.0);
  } else if (cont.depth() == CV_32F) {
    hwc = torch::from_blob(cont.data, {cont.rows, cont.cols, 3}, torch::kFloat32).clone();
  } else {
    throw RuntimeError("collate: unsupported image depth (expected uint8 or float32)");
  }
  return hwc.permute({2, 0, 1}).contiguous();
}

Batch collate(std::vector<Sample>&& samples, int64_t size_divisibility) {
  Batch batch;
  if (samples.empty()) return batch;
  int64_t max_h = 0, max_w = 0;
  for (const auto& s : samples) {
    max_h = std::max<int64_t>(max_h, s.image.rows);
    max_w = std::max<int64_t>(max_w, s.image.cols);
  }
  if (size_divisibility > 0) {
    max_h = (max_h + size_divisibility - 1) / size_divisibility * size_divisibility;
    max_w = (max_w + size_divisibility - 1) / size_divisibility * size_divisibility;
  }
  const int64_t b = static_cast<int64_t>(samples.size());
  batch.images = torch::zeros({b, 3, max_h, max_w}, torch::kFloat32);
  batch.pad_mask = torch::ones({b, max_h, max_w}, torch::kBool);
  for (int64_t i = 0; i < b; ++i) {
    Sample& s = samples[i];
    const int64_t h = s.image.rows, w = s.image.cols;
    batch.images[i].narrow(1, 0, h).narrow(2, 0, w).copy_(image_to_tensor(s.image));
    // The valid region is Target::size when a `pad` transform already padded
    // the image (DESIGN.md §2: size is before padding), else the whole image.
    int64_t vh = s.target.size[0], vw = s.target.size[1];
    if (vh <= 0 || vw <= 0 || vh > h || vw > w) vh = h, vw = w;
    batch.pad_mask[i].narrow(0, 0, vh).narrow(1, 0, vw).fill_(false);
    s.target.size = {vh, vw};
    batch.targets.push_back(std::move(s.target));
  }
  return batch;
}

Batch batch_to_device(const Batch& batch, const torch::Device& device) {
  if (device.is_cpu()) return batch;
  Batch b = batch;
  b.images = b.images.to(device);
  b.pad_mask = b.pad_mask.to(device);
  for (auto& t : b.targets) {
    if (t.boxes.defined()) t.boxes = t.boxes.to(device);
    if (t.labels.defined()) t.labels = t.labels.to(device);
    if (t.masks.defined()) t.masks = t.masks.to(device);
    if (t.tags.defined()) t.tags = t.tags.to(device);
  }
  return b;
}


}  // namespace seer
