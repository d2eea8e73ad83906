#include "core/predictions.h"

#include <algorithm>
#include <cstdio>

#include "core/visualize.h"
#include "ops/coco_mask.h"

namespace seer {

namespace {

int64_t rows(const torch::Tensor& t) { return t.defined() && t.dim() > 0 ? t.size(0) : 0; }

// Masks [K,H,W] or [K,1,H,W] as 0/1 uint8 [K,H,W] on the CPU.
torch::Tensor binary_masks(const torch::Tensor& masks, double threshold) {
  torch::Tensor m = masks.detach().cpu();
  if (m.dim() == 4) m = m.squeeze(1);
  m = m.is_floating_point() ? m.gt(threshold) : m.ne(0);
  return m.to(torch::kUInt8).contiguous();
}

// (index, score) of the tags to show: best first, >= threshold, at most max_tags.
std::vector<std::pair<int64_t, double>> shown_tags(const torch::Tensor& tag_scores, const PredictionView& view) {
  std::vector<std::pair<int64_t, double>> tags;
  if (!tag_scores.defined() || tag_scores.numel() == 0) return tags;
  auto s = tag_scores.detach().cpu().to(torch::kDouble).reshape({-1}).contiguous();
  const double* v = s.data_ptr<double>();
  for (int64_t i = 0; i < s.numel(); ++i)
    if (v[i] >= view.tag_threshold) tags.emplace_back(i, v[i]);
  std::stable_sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (static_cast<int64_t>(tags.size()) > view.max_tags) tags.resize(static_cast<size_t>(std::max<int64_t>(0, view.max_tags)));
  return tags;
}

std::string tag_name(const std::vector<std::string>& tag_names, const CategoryTable& categories, int64_t i) {
  if (!tag_names.empty()) return i < static_cast<int64_t>(tag_names.size()) ? tag_names[i] : std::to_string(i);
  return category_name(categories, i);
}

std::string two_decimals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

}  // namespace

std::string category_name(const CategoryTable& categories, int64_t label) {
  return label >= 0 && label < categories.size() ? categories.names[label] : std::to_string(label);
}

Prediction select_detections(const Prediction& p, const PredictionView& view) {
  Prediction out;
  out.image_id = p.image_id;
  if (p.tag_scores.defined()) out.tag_scores = p.tag_scores.detach().cpu();
  const int64_t k = rows(p.boxes);
  if (k == 0 || !p.scores.defined()) {
    out.boxes = torch::zeros({0, 4});
    out.scores = torch::zeros({0});
    out.labels = torch::zeros({0}, torch::kLong);
    return out;
  }
  auto scores = p.scores.detach().cpu();
  auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  auto keep = order.index({scores.index({order}) >= view.score_threshold});
  if (keep.size(0) > view.max_detections) keep = keep.narrow(0, 0, std::max<int64_t>(0, view.max_detections));
  out.boxes = p.boxes.detach().cpu().index({keep});
  out.scores = scores.index({keep});
  out.labels = p.labels.defined() ? p.labels.detach().cpu().index({keep}) : torch::zeros({keep.size(0)}, torch::kLong);
  if (p.masks.defined() && rows(p.masks) == k) out.masks = p.masks.detach().cpu().index({keep});
  if (static_cast<int64_t>(p.phrases.size()) == k) {
    auto idx = keep.contiguous();
    for (int64_t i = 0; i < idx.size(0); ++i) out.phrases.push_back(p.phrases[static_cast<size_t>(idx[i].item<int64_t>())]);
  }
  return out;
}

nlohmann::ordered_json prediction_to_json(const Prediction& p, const CategoryTable& categories, const PredictionView& view,
                                          const std::vector<std::string>& tag_names) {
  nlohmann::ordered_json j;
  const int64_t k = rows(p.boxes);
  auto boxes = k ? p.boxes.detach().cpu().to(torch::kDouble).contiguous() : torch::zeros({0, 4}, torch::kDouble);
  auto scores = k ? p.scores.detach().cpu().to(torch::kDouble).contiguous() : torch::zeros({0}, torch::kDouble);
  auto labels = k && p.labels.defined() ? p.labels.detach().cpu().to(torch::kLong).contiguous() : torch::zeros({k}, torch::kLong);
  j["boxes"] = nlohmann::ordered_json::array();
  j["scores"] = nlohmann::ordered_json::array();
  j["labels"] = nlohmann::ordered_json::array();
  j["label_names"] = nlohmann::ordered_json::array();
  j["category_ids"] = nlohmann::ordered_json::array();
  const double* b = boxes.data_ptr<double>();
  for (int64_t i = 0; i < k; ++i) {
    j["boxes"].push_back({b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]});
    j["scores"].push_back(scores[i].item<double>());
    const int64_t label = labels[i].item<int64_t>();
    j["labels"].push_back(label);
    j["label_names"].push_back(category_name(categories, label));
    j["category_ids"].push_back(label >= 0 && label < categories.size() ? categories.ids[label] : -1);
  }
  if (!p.phrases.empty()) j["phrases"] = p.phrases;
  if (p.masks.defined() && rows(p.masks) == k && k > 0) {
    auto m = binary_masks(p.masks, view.mask_threshold);
    j["masks"] = nlohmann::ordered_json::array();
    for (int64_t i = 0; i < k; ++i) {
      rle::Rle r = rle::encode(m[i].data_ptr<uint8_t>(), m.size(1), m.size(2));
      j["masks"].push_back({{"size", {r.h, r.w}}, {"counts", rle::to_string(r)}});
    }
  }
  if (p.tag_scores.defined()) {
    j["tags"] = nlohmann::ordered_json::array();
    for (const auto& [i, s] : shown_tags(p.tag_scores, view))
      j["tags"].push_back({{"name", tag_name(tag_names, categories, i)}, {"index", i}, {"score", s}});
  }
  return j;
}

cv::Mat draw_prediction(const cv::Mat& rgb, const Prediction& p, const CategoryTable& categories,
                        const std::string& caption, const PredictionView& view,
                        const std::vector<std::string>& tag_names) {
  std::vector<DrawItem> items;
  const int64_t k = rows(p.boxes);
  if (k > 0) {
    auto boxes = p.boxes.detach().cpu().to(torch::kFloat).contiguous();
    auto scores = p.scores.detach().cpu().to(torch::kDouble).contiguous();
    auto labels = p.labels.defined() ? p.labels.detach().cpu().to(torch::kLong).contiguous() : torch::zeros({k}, torch::kLong);
    const float* b = boxes.data_ptr<float>();
    const bool grounded = static_cast<int64_t>(p.phrases.size()) == k;
    for (int64_t i = 0; i < k; ++i) {
      const int64_t label = labels[i].item<int64_t>();
      const std::string what = grounded ? p.phrases[static_cast<size_t>(i)] : category_name(categories, label);
      // a grounding model's boxes take one colour per distinct phrase
      const int64_t colour = grounded ? std::find(p.phrases.begin(), p.phrases.end(), what) - p.phrases.begin() : label;
      items.push_back({{b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]},
                       what + " " + two_decimals(scores[i].item<double>()),
                       static_cast<int>(colour)});
    }
  }
  std::string header = caption;
  const auto tags = shown_tags(p.tag_scores, view);
  if (!tags.empty()) {
    std::string line = "tags:";
    for (size_t i = 0; i < tags.size(); ++i)
      line += (i ? ", " : " ") + tag_name(tag_names, categories, tags[i].first) + " " + two_decimals(tags[i].second);
    header += (header.empty() ? "" : "\n") + line;
  }
  torch::Tensor masks;
  if (p.masks.defined() && rows(p.masks) == k && k > 0) masks = binary_masks(p.masks, view.mask_threshold);
  return draw_items(rgb, items, header, masks);
}

}  // namespace seer
