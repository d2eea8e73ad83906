#include "eval/coco_evaluator.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/error.h"

namespace seer::eval {

namespace {

// [H, W] masks of any dtype -> RLE; floating masks are thresholded.
rle::Rle encode_mask(const torch::Tensor& m, double threshold) {
  torch::Tensor b = m.is_floating_point() ? m.gt(threshold) : m.ne(0);
  b = b.to(torch::kUInt8).contiguous();
  return rle::encode(b.data_ptr<uint8_t>(), b.size(0), b.size(1));
}

std::array<double, 4> xyxy_to_xywh(const double* b) { return {b[0], b[1], b[2] - b[0], b[3] - b[1]}; }

}  // namespace

CocoEvaluator::CocoEvaluator(CategoryTable categories, CocoEvaluatorOptions options)
    : categories_(std::move(categories)), options_(std::move(options)) {
  if (!options_.gt_json.empty())
    file_gt_ = std::make_shared<const CocoDataset>(load_coco_gt(options_.gt_json, options_.iou_type == IouType::Segm));
  reset();
}

void CocoEvaluator::reset() {
  target_gt_ = CocoDataset{};
  for (int64_t i = 0; i < categories_.size(); ++i) target_gt_.categories.push_back({categories_.ids[i], categories_.names[i]});
  dets_.clear();
  seen_images_.clear();
  seen_set_.clear();
  result_ = CocoEvalResult{};
}

void CocoEvaluator::add_target(const Target& t) {
  const int64_t oh = t.orig_size[0], ow = t.orig_size[1];
  const int64_t sh = t.size[0] > 0 ? t.size[0] : oh, sw = t.size[1] > 0 ? t.size[1] : ow;
  target_gt_.images.push_back({t.image_id, oh, ow, t.file_name});
  const int64_t n = t.num_boxes();
  if (n == 0) return;
  // Current-image pixels -> original-image pixels.
  const double sx = sw > 0 ? static_cast<double>(ow) / sw : 1.0, sy = sh > 0 ? static_cast<double>(oh) / sh : 1.0;
  torch::Tensor boxes = t.boxes.to(torch::kCPU, torch::kDouble).contiguous();
  torch::Tensor labels = t.labels.to(torch::kCPU, torch::kLong).contiguous();
  torch::Tensor crowd = t.iscrowd.defined() ? t.iscrowd.to(torch::kCPU, torch::kLong).contiguous() : torch::Tensor();
  torch::Tensor area = t.area.defined() ? t.area.to(torch::kCPU, torch::kDouble).contiguous() : torch::Tensor();
  torch::Tensor masks;
  if (options_.iou_type == IouType::Segm) {
    if (!t.masks.defined())
      throw DataError("COCO segm evaluation: image " + std::to_string(t.image_id) + " has no ground-truth masks");
    masks = t.masks.to(torch::kCPU).slice(1, 0, sh).slice(2, 0, sw);  // drop padding, if any
    if (masks.size(1) != oh || masks.size(2) != ow)
      masks = torch::nn::functional::interpolate(
                  masks.unsqueeze(0).to(torch::kFloat),
                  torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{oh, ow}).mode(torch::kNearest))
                  .squeeze(0)
                  .gt(0.5);
  }
  const double* b = boxes.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = labels[i].item<int64_t>();
    if (label < 0 || label >= categories_.size())
      throw DataError("COCO evaluation: image " + std::to_string(t.image_id) + " target " + std::to_string(i) +
                      " has label " + std::to_string(label) + " outside the category table");
    CocoAnn a;
    a.id = static_cast<int64_t>(target_gt_.annotations.size()) + 1;
    a.image_id = t.image_id;
    a.category_id = categories_.ids[label];
    const double xyxy[4] = {b[4 * i] * sx, b[4 * i + 1] * sy, b[4 * i + 2] * sx, b[4 * i + 3] * sy};
    a.bbox = xyxy_to_xywh(xyxy);
    a.area = area.defined() ? area.data_ptr<double>()[i] * sx * sy : a.bbox[2] * a.bbox[3];
    a.iscrowd = crowd.defined() && crowd.data_ptr<int64_t>()[i] != 0;
    if (masks.defined()) {
      a.mask = encode_mask(masks[i], 0.5);
      a.mask_box = rle::to_bbox(a.mask);
    }
    target_gt_.annotations.push_back(std::move(a));
  }
}

void CocoEvaluator::update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) {
  if (predictions.size() != targets.size())
    throw RuntimeError("CocoEvaluator::update: " + std::to_string(predictions.size()) + " predictions for " +
                       std::to_string(targets.size()) + " targets");
  for (size_t i = 0; i < predictions.size(); ++i) {
    const Prediction& p = predictions[i];
    const Target& t = targets[i];
    const int64_t image_id = p.image_id >= 0 ? p.image_id : t.image_id;
    if (seen_set_.insert(image_id).second) {
      seen_images_.push_back(image_id);
      if (!file_gt_) add_target(t);
    }
    const int64_t k = p.boxes.defined() ? p.boxes.size(0) : 0;
    if (k == 0) continue;
    torch::Tensor boxes = p.boxes.to(torch::kCPU, torch::kDouble).contiguous();
    torch::Tensor scores = p.scores.to(torch::kCPU, torch::kDouble).contiguous();
    torch::Tensor labels = p.labels.to(torch::kCPU, torch::kLong).contiguous();
    int64_t ih = t.orig_size[0], iw = t.orig_size[1];
    if (file_gt_) {
      const int64_t ii = file_gt_->image_index(image_id);
      if (ii < 0) throw DataError("COCO evaluation: image id " + std::to_string(image_id) + " is not in " + options_.gt_json);
      ih = file_gt_->images[ii].height, iw = file_gt_->images[ii].width;
    }
    torch::Tensor masks;
    if (options_.iou_type == IouType::Segm) {
      if (!p.masks.defined())
        throw DataError("COCO segm evaluation: the prediction for image " + std::to_string(image_id) + " has no masks");
      masks = p.masks.to(torch::kCPU);
      if (masks.dim() == 4) masks = masks.squeeze(1);  // [K,1,H,W]
      if (masks.size(1) != ih || masks.size(2) != iw)
        throw DataError("COCO segm evaluation: prediction masks of image " + std::to_string(image_id) + " are " +
                        std::to_string(masks.size(1)) + "x" + std::to_string(masks.size(2)) + ", the image is " +
                        std::to_string(ih) + "x" + std::to_string(iw));
    }
    const double* b = boxes.data_ptr<double>();
    for (int64_t d = 0; d < k; ++d) {
      const std::string where = "COCO evaluation: image " + std::to_string(image_id) + " detection " + std::to_string(d);
      const int64_t label = labels.data_ptr<int64_t>()[d];
      if (label < 0 || label >= categories_.size())
        throw DataError(where + ": label " + std::to_string(label) + " outside the category table");
      CocoAnn a;
      a.id = static_cast<int64_t>(dets_.size()) + 1;  // as loadRes: index + 1
      a.image_id = image_id;
      a.category_id = categories_.ids[label];
      a.score = scores.data_ptr<double>()[d];
      a.bbox = xyxy_to_xywh(b + 4 * d);
      for (double v : a.bbox)
        if (!std::isfinite(v)) throw DataError(where + ": box is not finite");
      if (!std::isfinite(a.score)) throw DataError(where + ": score is not finite");
      // Detections carry a box, so area is the box area (loadRes' bbox branch).
      a.area = a.bbox[2] * a.bbox[3];
      if (masks.defined()) {
        a.mask = encode_mask(masks[d], options_.mask_threshold);
        a.mask_box = rle::to_bbox(a.mask);
      }
      dets_.push_back(std::move(a));
    }
  }
}

Metrics CocoEvaluator::compute() {
  CocoEvalParams params;
  params.iou_type = options_.iou_type;
  params.use_cats = options_.use_cats;
  params.num_threads = options_.num_threads;
  if (options_.only_seen_images || !file_gt_) params.img_ids = seen_images_;
  if (params.img_ids.empty() && options_.only_seen_images) params.img_ids = {INT64_MIN};  // nothing seen: no images
  if (file_gt_) {
    result_ = coco_evaluate(*file_gt_, dets_, params);
  } else {
    target_gt_.build_index();
    result_ = coco_evaluate(target_gt_, dets_, params);
  }
  static const char* names[12] = {"AP", "AP50", "AP75", "APs", "APm", "APl",
                                  "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  const std::string prefix = std::string(to_string(options_.iou_type)) + "/";
  Metrics m;
  for (int i = 0; i < 12; ++i) m.emplace_back(prefix + names[i], result_.stats[i]);
  if (options_.use_cats)
    for (int k = 0; k < result_.K; ++k) {
      const double ap = result_.category_ap(k);
      if (ap >= 0) m.emplace_back(prefix + "AP-" + result_.cat_names[k], ap);
    }
  return m;
}

const CocoDataset& CocoEvaluator::ground_truth() {
  if (file_gt_) return *file_gt_;
  target_gt_.build_index();
  return target_gt_;
}

std::string CocoEvaluator::results_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : dets_) {
    nlohmann::json r{{"image_id", a.image_id}, {"category_id", a.category_id},
                     {"bbox", {a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]}}, {"score", a.score}};
    if (!a.mask.counts.empty())
      r["segmentation"] = {{"size", {a.mask.h, a.mask.w}}, {"counts", rle::to_string(a.mask)}};
    out.push_back(std::move(r));
  }
  return out.dump();
}

}  // namespace seer::eval
