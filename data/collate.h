#pragma once
#include <vector>

#include "core/types.h"
#include "data/sample.h"

namespace seer {

// Stack samples into a Batch: images to [B,3,H,W] float (uint8 images are
// scaled to [0,1]; normalised float images are taken as they are), zero-padded
// bottom/right to the largest H and W in the batch, rounded up to a multiple of
// `size_divisibility` when > 0; pad_mask true on padding (DETR's NestedTensor).
Batch collate(std::vector<Sample>&& samples, int64_t size_divisibility = 0);

// The [3,H,W] float tensor of one sample's image (no padding).
torch::Tensor image_to_tensor(const cv::Mat& image);

// The batch with images, pad mask and the targets' tensors moved to `device`
// (the same batch on the CPU).
Batch batch_to_device(const Batch& batch, const torch::Device& device);

}  // namespace seer
