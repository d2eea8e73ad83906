#pragma once
// Class-agnostic proposal recall (UPN / ChatRex style): COCOeval with useCats=0
// and maxDets = the proposal budgets, reading the recall array.
//   AR@k      mean recall over IoU .50:.05:.95 with the k best proposals per image
//   R50@k     recall at IoU 0.5
//   AR_small@k, AR_medium@k, AR_large@k   by ground-truth area, for every k
//             (AR_small@1, ..., AR_small@900, then medium, then large)
// Crowd ground truth is ignored, as in COCOeval.
#include <vector>

#include "eval/coco_eval.h"
#include "eval/evaluator.h"

namespace seer::eval {

Metrics proposal_recall(const CocoDataset& gt, const std::vector<CocoAnn>& proposals,
                        std::vector<int> ks = {1, 10, 100, 300, 900}, int num_threads = 0);

}  // namespace seer::eval
