#include "eval/refcoco_evaluator.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"

namespace seer::eval {

namespace {

// "Prec@0.50" -> "Prec@0.5", as the papers and the issue name the thresholds.
std::string trim_zero(std::string s) {
  if (s.rfind("Prec@", 0) == 0 && s.size() > 6 && s.back() == '0' && s.find('.') != std::string::npos) s.pop_back();
  return s;
}

// Index of the best score (the first of equal ones); 0 without scores.
int64_t best_index(const torch::Tensor& scores, int64_t k, const std::string& where) {
  if (!scores.defined() || scores.numel() == 0) return 0;
  if (scores.numel() != k)
    throw DataError(where + ": " + std::to_string(scores.numel()) + " scores for " + std::to_string(k) + " outputs");
  const torch::Tensor s = scores.to(torch::kCPU, torch::kDouble).contiguous();
  const double* v = s.data_ptr<double>();
  int64_t best = 0;
  for (int64_t i = 0; i < k; ++i) {
    if (!std::isfinite(v[i])) throw DataError(where + ": score " + std::to_string(i) + " is not finite");
    if (v[i] > v[best]) best = i;
  }
  return best;
}

}  // namespace

RefcocoEvaluator::RefcocoEvaluator(RefcocoEvaluatorOptions options)
    : options_(options), res_(options.mask_threshold) {
  if (!options_.rec && !options_.res) throw ConfigError("refcoco evaluator: neither rec nor res is enabled");
}

void RefcocoEvaluator::reset() {
  rec_ = RecMetrics();
  res_ = ResMetrics(options_.mask_threshold);
  count_ = 0;
}

void RefcocoEvaluator::update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) {
  if (predictions.size() != targets.size())
    throw RuntimeError("RefcocoEvaluator::update: " + std::to_string(predictions.size()) + " predictions for " +
                       std::to_string(targets.size()) + " targets");
  for (size_t i = 0; i < predictions.size(); ++i) {
    const Prediction& p = predictions[i];
    const Target& t = targets[i];
    std::string where = "refcoco evaluation: image " + std::to_string(t.image_id);
    if (!t.caption.empty()) where += " expression \"" + t.caption + "\"";
    if (p.image_id >= 0 && t.image_id >= 0 && p.image_id != t.image_id)
      throw DataError(where + " is paired with the prediction for image " + std::to_string(p.image_id));
    const int64_t oh = t.orig_size[0], ow = t.orig_size[1];
    const int64_t sh = t.size[0] > 0 ? t.size[0] : oh, sw = t.size[1] > 0 ? t.size[1] : ow;
    const int64_t kb = p.boxes.defined() ? p.boxes.size(0) : 0;
    const int64_t km = p.masks.defined() ? (p.masks.dim() == 2 ? 1 : p.masks.size(0)) : 0;
    const int64_t best = best_index(p.scores, kb > 0 ? kb : km, where);

    // Everything is checked before anything is recorded, so a bad pair leaves no trace.
    std::array<double, 4> pred{0, 0, 0, 0}, gt{0, 0, 0, 0};  // no predicted box: IoU 0, a miss
    int64_t inter = 0, uni = 0;
    if (options_.rec) {
      if (t.num_boxes() == 0) throw DataError(where + ": the target has no box");
      const torch::Tensor g = t.boxes[0].to(torch::kCPU, torch::kDouble).contiguous();
      const double* gb = g.data_ptr<double>();
      // Current-image pixels -> original pixels.
      const double sx = sw > 0 ? static_cast<double>(ow) / sw : 1.0, sy = sh > 0 ? static_cast<double>(oh) / sh : 1.0;
      gt = {gb[0] * sx, gb[1] * sy, gb[2] * sx, gb[3] * sy};
      if (kb > 0) {
        const torch::Tensor b = p.boxes[best].to(torch::kCPU, torch::kDouble).contiguous();
        for (int j = 0; j < 4; ++j) {
          pred[j] = b.data_ptr<double>()[j];
          if (!std::isfinite(pred[j])) throw DataError(where + ": predicted box " + std::to_string(best) + " is not finite");
        }
      }
    }

    if (options_.res) {
      if (km == 0) throw DataError(where + ": the prediction has no mask");
      if (!t.masks.defined() || t.masks.dim() != 3 || t.masks.size(0) == 0)
        throw DataError(where + ": the target has no mask");
      torch::Tensor pm = p.masks.to(torch::kCPU);
      if (pm.dim() == 4) pm = pm.squeeze(1);  // [K,1,H,W] -> [K,H,W]
      if (pm.dim() == 3) pm = pm[std::min(best, pm.size(0) - 1)];
      if (pm.dim() != 2 || pm.size(0) != oh || pm.size(1) != ow)
        throw DataError(where + ": the predicted mask is " + (pm.dim() == 2 ? std::to_string(pm.size(0)) + "x" +
                                                                                   std::to_string(pm.size(1))
                                                                             : std::to_string(pm.dim()) + "-d") +
                        ", the image is " + std::to_string(oh) + "x" + std::to_string(ow));
      if (pm.is_floating_point() && !torch::isfinite(pm).all().item<bool>())
        throw DataError(where + ": the predicted mask has non-finite values");
      const torch::Tensor pb = pm.is_floating_point() ? pm.gt(options_.mask_threshold) : pm.ne(0);  // [H, W]
      torch::Tensor gm = t.masks[0].to(torch::kCPU).slice(0, 0, sh).slice(1, 0, sw);  // drop padding
      if (gm.size(0) != oh || gm.size(1) != ow)
        gm = torch::nn::functional::interpolate(
                 gm.unsqueeze(0).unsqueeze(0).to(torch::kFloat),
                 torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{oh, ow}).mode(torch::kNearest))
                 .squeeze(0)
                 .squeeze(0);
      const torch::Tensor gb = gm.to(torch::kFloat).gt(0.5);  // [H, W]
      inter = torch::logical_and(pb, gb).sum().item<int64_t>();
      uni = torch::logical_or(pb, gb).sum().item<int64_t>();
    }
    if (options_.rec) rec_.add(pred, gt);
    if (options_.res) res_.add_counts(inter, uni);
    ++count_;
  }
}

Metrics RefcocoEvaluator::compute() {
  Metrics m;
  if (options_.rec)
    for (auto& [name, v] : rec_.compute()) m.emplace_back("rec/" + trim_zero(name), v);
  if (options_.res)
    for (auto& [name, v] : res_.compute()) m.emplace_back("res/" + trim_zero(name), v);
  return m;
}

std::vector<std::string> refcoco_splits(const std::string& dataset) {
  std::string d = dataset;
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
  if (d == "refcoco" || d == "refcoco+") return {"val", "testA", "testB"};
  if (d == "refcocog" || d == "refcocog_umd") return {"val", "test"};
  throw ConfigError("refcoco splits: unknown dataset '" + dataset + "' (refcoco, refcoco+, refcocog)");
}

namespace {

std::vector<std::string> table_rows(const std::vector<SplitColumn>& columns, const std::vector<std::string>& rows) {
  if (!rows.empty()) return rows;
  std::vector<std::string> out;
  for (const auto& c : columns)
    for (const auto& kv : c.second)
      if (std::find(out.begin(), out.end(), kv.first) == out.end()) out.push_back(kv.first);
  return out;
}

const double* find_metric(const Metrics& m, const std::string& name) {
  for (const auto& kv : m)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

}  // namespace

std::string format_split_table(const std::vector<SplitColumn>& columns, const std::vector<std::string>& rows,
                               int decimals) {
  const std::vector<std::string> names = table_rows(columns, rows);
  // Cells as text first, then pad every column to its widest cell.
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"metric"});
  for (const auto& c : columns) cells[0].push_back(c.first);
  for (const auto& n : names) {
    std::vector<std::string> row{n};
    for (const auto& c : columns) {
      const double* v = find_metric(c.second, n);
      char buf[64] = "-";
      if (v) std::snprintf(buf, sizeof buf, "%.*f", decimals, *v * 100.0);
      row.emplace_back(buf);
    }
    cells.push_back(std::move(row));
  }
  std::vector<size_t> width(columns.size() + 1, 0);
  for (const auto& r : cells)
    for (size_t j = 0; j < r.size(); ++j) width[j] = std::max(width[j], r[j].size());
  std::ostringstream out;
  for (const auto& r : cells) {
    for (size_t j = 0; j < r.size(); ++j) {
      if (j == 0)
        out << r[j] << std::string(width[j] - r[j].size(), ' ');  // metric names left-aligned
      else
        out << "  " << std::string(width[j] - r[j].size(), ' ') << r[j];
    }
    out << "\n";
  }
  return out.str();
}

std::string split_table_json(const std::vector<SplitColumn>& columns, const std::vector<std::string>& rows) {
  const std::vector<std::string> names = table_rows(columns, rows);
  nlohmann::json j;
  j["columns"] = nlohmann::json::array();
  j["rows"] = names;
  j["values"] = nlohmann::json::object();
  for (const auto& c : columns) {
    j["columns"].push_back(c.first);
    nlohmann::json v = nlohmann::json::object();
    for (const auto& n : names)
      if (const double* x = find_metric(c.second, n)) v[n] = *x;
    j["values"][c.first] = std::move(v);
  }
  return j.dump();
}

}  // namespace seer::eval
