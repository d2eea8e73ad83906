#pragma once
// One image's Prediction as seer shows it to people: the JSON that `seer predict`
// writes and the drawing that `seer predict --vis` and the run folder's vis/ make.
// Every kind of output a family may fill is handled here once: boxes with class
// names and dataset ids, grounding phrases, image tags (tag_scores with names) and
// instance masks (compressed COCO RLE in JSON, a coloured overlay in drawings).
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "core/types.h"

namespace seer {

struct PredictionView {
  double score_threshold = 0.0;  // boxes scoring below are left out
  int64_t max_detections = 100;  // at most this many boxes, best first
  double tag_threshold = 0.5;    // tags scoring below are left out
  int64_t max_tags = 20;         // at most this many tags, best first
  double mask_threshold = 0.5;   // floating masks: foreground above it
};

// The boxes to show: sorted by score (descending, stable), thresholded, capped. Every
// per-box field (boxes, scores, labels, masks, phrases) is selected alike; tag_scores
// and image_id are kept. Tensors come back on the CPU.
Prediction select_detections(const Prediction& p, const PredictionView& view);

// The name of class `label` (its index when the table has no such class).
std::string category_name(const CategoryTable& categories, int64_t label);

// The JSON of one prediction, already selected (select_detections):
//   {"boxes": [[x1,y1,x2,y2], ...] (original pixels), "scores", "labels" (contiguous
//    index), "label_names", "category_ids" (dataset ids, -1 when unknown),
//    "phrases" (when the model grounds phrases),
//    "masks": [{"size": [h,w], "counts": "<compressed RLE>"}, ...] (when it has masks),
//    "tags": [{"name", "index", "score"}, ...] (when it has tag_scores; best first,
//            >= view.tag_threshold, at most view.max_tags)}
// `tag_names` name the tag_scores entries; empty = the category names.
nlohmann::ordered_json prediction_to_json(const Prediction& p, const CategoryTable& categories,
                                          const PredictionView& view = {},
                                          const std::vector<std::string>& tag_names = {});

// Draws a prediction (already selected) on a copy of the RGB uint8 image it was made
// for (boxes and masks in this image's pixels): a box per detection labelled with its
// phrase, or else its class name, and score; masks blended in; `caption` (the text
// prompt) and the tags in a band above the image. Small images are enlarged first
// (draw_items), so labels stay readable without hiding the objects.
cv::Mat draw_prediction(const cv::Mat& rgb, const Prediction& p, const CategoryTable& categories,
                        const std::string& caption = "", const PredictionView& view = {},
                        const std::vector<std::string>& tag_names = {});

}  // namespace seer
