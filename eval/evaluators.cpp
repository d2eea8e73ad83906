#include "eval/evaluators.h"

#include <algorithm>
#include <fstream>
#include <map>

#include "core/error.h"
#include "eval/coco_evaluator.h"
#include "eval/proposal_evaluator.h"
#include "eval/refcoco_evaluator.h"
#include "eval/tagging_evaluator.h"

namespace seer::eval {

namespace {

using Reader = EvaluatorSpec (*)(const ConfigSection& s, const std::string& data_root, const std::string& type);

// Several evaluators over the same predictions, their metrics in order (COCO
// segmentation is reported with its boxes, as mmdetection and detectron2 do).
class Combined : public Evaluator {
 public:
  explicit Combined(std::vector<std::unique_ptr<Evaluator>> parts) : parts_(std::move(parts)) {}
  void reset() override {
    for (auto& p : parts_) p->reset();
  }
  void update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) override {
    for (auto& p : parts_) p->update(predictions, targets);
  }
  Metrics compute() override {
    Metrics all;
    for (auto& p : parts_) {
      auto m = p->compute();
      all.insert(all.end(), m.begin(), m.end());
    }
    return all;
  }
  std::string summary() const override {
    std::string s;
    for (const auto& p : parts_) s += p->summary();
    return s;
  }

 private:
  std::vector<std::unique_ptr<Evaluator>> parts_;
};

std::vector<std::string> names_of(const Metrics& m) {
  std::vector<std::string> out;
  for (const auto& [name, v] : m) out.push_back(name);
  return out;
}

EvaluatorSpec read_coco(const ConfigSection& s, const std::string& data_root, const std::string& type) {
  CocoEvaluatorOptions o;
  o.iou_type = type == "coco_segm" ? IouType::Segm : IouType::Bbox;
  auto gt = s.optional<std::string>("gt_json", "COCO json of the val split for exact numbers (null = GT from the targets)");
  if (gt && !gt->empty()) o.gt_json = resolve_data_path(data_root, *gt);
  if (o.iou_type == IouType::Segm) {
    o.mask_threshold = s.get<double>("mask_threshold", o.mask_threshold,
                                     "floating-point prediction masks are foreground where > this");
    if (o.mask_threshold < 0 || o.mask_threshold > 1) s.fail("mask_threshold", "must be in [0, 1]");
  }
  EvaluatorSpec spec;
  const bool segm = o.iou_type == IouType::Segm;
  for (const std::string prefix : {"bbox/", "segm/"}) {
    if (prefix == "segm/" && !segm) continue;
    for (const char* n : {"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"})
      spec.metric_names.push_back(prefix + n);
    spec.metric_prefixes.push_back(prefix + "AP-");
  }
  spec.default_best_metric = segm ? "segm/AP50" : "bbox/AP50";
  spec.make = [o, segm](const CategoryTable& c) -> std::unique_ptr<Evaluator> {
    if (!segm) return std::make_unique<CocoEvaluator>(c, o);
    CocoEvaluatorOptions boxes = o;
    boxes.iou_type = IouType::Bbox;
    std::vector<std::unique_ptr<Evaluator>> parts;
    parts.push_back(std::make_unique<CocoEvaluator>(c, boxes));
    parts.push_back(std::make_unique<CocoEvaluator>(c, o));
    return std::make_unique<Combined>(std::move(parts));
  };
  return spec;
}

EvaluatorSpec read_refcoco(const ConfigSection& s, const std::string&, const std::string& type) {
  RefcocoEvaluatorOptions o;
  o.rec = true;
  o.res = type == "refcoco_res";
  if (o.res) {
    o.mask_threshold = s.get<double>("mask_threshold", o.mask_threshold,
                                     "mask probabilities are foreground where > this (VG-LAW: 0.35)");
    if (o.mask_threshold < 0 || o.mask_threshold > 1) s.fail("mask_threshold", "must be in [0, 1]");
    o.rec = s.get<bool>("boxes", true, "also score the predicted boxes (rec/*) beside the masks (res/*)");
  }
  EvaluatorSpec spec;
  spec.metric_names = names_of(RefcocoEvaluator(o).compute());  // nothing seen: the names with zeros
  spec.default_best_metric = o.res ? "res/mIoU" : "rec/Prec@0.5";
  spec.make = [o](const CategoryTable&) -> std::unique_ptr<Evaluator> { return std::make_unique<RefcocoEvaluator>(o); };
  return spec;
}

std::vector<double> read_thresholds_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError("evaluation.thresholds_file: cannot open '" + path + "'");
  std::vector<double> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      size_t used = 0;
      out.push_back(std::stod(line, &used));
      if (line.find_first_not_of(" \t\r", used) != std::string::npos) throw std::invalid_argument(line);
    } catch (const std::exception&) {
      throw ConfigError(path + ":" + std::to_string(n) + ": not a threshold: '" + line + "'");
    }
  }
  if (out.empty()) throw ConfigError("evaluation.thresholds_file: '" + path + "' holds no thresholds");
  return out;
}

EvaluatorSpec read_tagging(const ConfigSection& s, const std::string& data_root, const std::string&) {
  TaggingEvaluatorOptions o;
  const double thr = s.get<double>("threshold", 0.5, "one global tag threshold for CP/CR/CF1/OP/OR/OF1");
  if (thr < 0 || thr > 1) s.fail("threshold", "must be in [0, 1]");
  o.thresholds = {thr};
  auto file = s.optional<std::string>(
      "thresholds_file", "per-class thresholds, one per line in class order (e.g. RAM's ram_tag_list_threshold.txt); "
                         "overrides threshold");
  if (file && !file->empty()) o.thresholds = read_thresholds_file(resolve_data_path(data_root, *file));
  o.top_k = s.get<std::vector<int64_t>>("top_k", {}, "also score the top-k tags per image, e.g. [1, 3, 5]");
  for (auto k : o.top_k)
    if (k < 1) s.fail("top_k", "entries must be >= 1, got " + std::to_string(k));
  EvaluatorSpec spec;
  TaggingEvaluatorOptions probe = o;
  probe.thresholds = {0.5};
  spec.metric_names = names_of(TaggingEvaluator(probe).compute());
  spec.default_best_metric = "tag/mAP";
  spec.make = [o](const CategoryTable&) -> std::unique_ptr<Evaluator> { return std::make_unique<TaggingEvaluator>(o); };
  return spec;
}

EvaluatorSpec read_proposals(const ConfigSection& s, const std::string&, const std::string&) {
  ProposalEvaluatorOptions o;
  auto ks = s.get<std::vector<int64_t>>("ks", {1, 10, 100, 300, 900}, "proposal budgets per image (AR@k, R50@k)");
  if (ks.empty()) s.fail("ks", "needs at least one budget");
  o.ks.clear();
  for (auto k : ks) {
    if (k < 1) s.fail("ks", "entries must be >= 1, got " + std::to_string(k));
    o.ks.push_back(static_cast<int>(k));
  }
  std::sort(ks.begin(), ks.end());
  EvaluatorSpec spec;
  for (const char* kind : {"AR@", "R50@", "AR_small@", "AR_medium@", "AR_large@"})
    for (auto k : ks) spec.metric_names.push_back(std::string("proposal/") + kind + std::to_string(k));
  spec.default_best_metric = "proposal/AR@" + std::to_string(ks.back());
  spec.make = [o](const CategoryTable&) -> std::unique_ptr<Evaluator> { return std::make_unique<ProposalEvaluator>(o); };
  return spec;
}

const std::map<std::string, Reader>& table() {
  static const std::map<std::string, Reader> t = {
      {"coco_bbox", &read_coco},       {"coco_segm", &read_coco},   {"refcoco_rec", &read_refcoco},
      {"refcoco_res", &read_refcoco},  {"tagging", &read_tagging},  {"proposals", &read_proposals},
  };
  return t;
}

}  // namespace

bool EvaluatorSpec::reports(const std::string& metric) const {
  for (const auto& n : metric_names)
    if (n == metric) return true;
  for (const auto& p : metric_prefixes)
    if (metric.rfind(p, 0) == 0 && metric.size() > p.size()) return true;
  return false;
}

std::vector<std::string> evaluator_types() {
  std::vector<std::string> out;
  for (const auto& [name, r] : table()) out.push_back(name);
  return out;
}

EvaluatorSpec read_evaluator_spec(const ConfigSection& s, const std::string& data_root) {
  std::string known;
  for (const auto& n : evaluator_types()) known += (known.empty() ? "" : " | ") + n;
  const auto type = s.get<std::string>("type", "coco_bbox", "evaluator: " + known);
  auto it = table().find(type);
  if (it == table().end()) s.fail("type", "unknown evaluator '" + type + "' (known: " + known + ")");
  EvaluatorSpec spec = it->second(s, data_root, type);
  spec.type = type;
  return spec;
}

}  // namespace seer::eval
