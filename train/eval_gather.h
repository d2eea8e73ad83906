#pragma once
// Distributed evaluation (DESIGN.md §7: gather before compute()): every worker
// predicts its share of the val set, then the (prediction, target) pairs meet on
// rank 0, which feeds one evaluator with all of them. Evaluators stay unaware of
// processes: what rank 0 scores is what one process would have scored.
#include <string>
#include <vector>

#include "core/types.h"

namespace seer {

// Predictions and their targets, pairwise (predictions[i] belongs to targets[i]).
struct EvalItems {
  std::vector<Prediction> predictions;
  std::vector<Target> targets;
};

// All ranks' items on rank 0 in the order one process would have seen them
// (the loader deals samples round-robin: rank r's k-th is the (k*W + r)-th),
// with the DistributedSampler padding (a repeated image id) dropped; other ranks
// get none. Every rank must call it. A world of one returns `mine` unchanged.
EvalItems gather_eval_items(EvalItems mine);

// Bytes <-> items (tensors, captions, spans, ids, sizes; torch pickle format).
std::string encode_eval_items(const EvalItems& items);
EvalItems decode_eval_items(const std::string& bytes);

}  // namespace seer
