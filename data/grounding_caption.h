#pragma once
// Detection data as grounding data (Open-GroundingDino's ODVG "OD" mode): a
// record without a caption gets one listing the names of its categories plus
// sampled absent ones (negatives, up to max_labels names in all), shuffled,
// joined as "cat . dog . person .", and each box the span of its class name.
// Names are added while the caption stays within max_tokens word pieces
// ([CLS] and [SEP] included; the positives first, so no box loses its name).
// Records that already have a caption (grounding, referring) are left alone.
//
//   transforms: [{type: grounding_caption, max_labels: 80, max_tokens: 256}, ...]
//
// The category names come from the dataset (Sample::categories).
#include <memory>

#include "data/transforms.h"
#include "text/wordpiece.h"

namespace seer {

class GroundingCaption : public Transform {
 public:
  GroundingCaption(int64_t max_labels, int64_t max_tokens, std::shared_ptr<const text::WordPieceTokenizer> tokenizer)
      : max_labels_(max_labels), max_tokens_(max_tokens), tokenizer_(std::move(tokenizer)) {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return "grounding_caption"; }

 private:
  int64_t max_labels_, max_tokens_;
  std::shared_ptr<const text::WordPieceTokenizer> tokenizer_;
};
std::shared_ptr<Transform> read_grounding_caption(const ConfigSection& s);

}  // namespace seer
