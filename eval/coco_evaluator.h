#pragma once
// COCO box / mask AP as an Evaluator: detections are collected per batch in
// original pixels and scored by coco_evaluate() (pycocotools semantics).
//
// The ground truth is either a COCO json (options.gt_json: the exact annotations,
// so the numbers equal pycocotools' on the same detections) or built from the
// targets (boxes and masks mapped back from the current to the original image
// size, areas scaled likewise), for datasets that have no COCO json.
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "eval/coco_eval.h"
#include "eval/evaluator.h"

namespace seer::eval {

struct CocoEvaluatorOptions {
  IouType iou_type = IouType::Bbox;
  bool use_cats = true;
  std::string gt_json;          // "" = ground truth from the targets
  bool only_seen_images = true;  // evaluate the images passed to update(), not the whole json
  double mask_threshold = 0.5;   // floating-point prediction masks: foreground when > threshold
  int num_threads = 0;           // 0 = hardware concurrency
};

class CocoEvaluator : public Evaluator {
 public:
  // `categories` maps the contiguous labels of predictions and targets to COCO ids.
  CocoEvaluator(CategoryTable categories, CocoEvaluatorOptions options = {});

  void reset() override;
  void update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) override;
  // "<type>/AP", "<type>/AP50", ... the 12 COCO stats, then "<type>/AP-<name>" per category.
  Metrics compute() override;

  // The full result of the last compute() (precision / recall arrays, summary()).
  const CocoEvalResult& result() const { return result_; }
  std::string summary() const override { return result_.summary(); }
  // The collected detections as a COCO results json (list), e.g. for a submission
  // or to gather across processes.
  std::string results_json() const;
  // What compute() scores: the ground truth (from gt_json or built from the targets,
  // in original pixels) and the collected detections, for evaluators that run
  // another analysis on the same data (e.g. ProposalEvaluator).
  const CocoDataset& ground_truth();
  const std::vector<CocoAnn>& detections() const { return dets_; }
  const std::vector<int64_t>& seen_images() const { return seen_images_; }

 private:
  void add_target(const Target& t);

  CategoryTable categories_;
  CocoEvaluatorOptions options_;
  std::shared_ptr<const CocoDataset> file_gt_;  // loaded once when gt_json is set
  CocoDataset target_gt_;                       // built from the targets otherwise
  std::vector<CocoAnn> dets_;
  std::vector<int64_t> seen_images_;
  std::unordered_set<int64_t> seen_set_;
  CocoEvalResult result_;
};

}  // namespace seer::eval
