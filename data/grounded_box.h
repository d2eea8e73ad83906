#pragma once
// A box of a grounding record (ODVG, Flickr30k Entities) with its label and the
// caption spans it grounds, and the Target fields such boxes fill.
#include <array>
#include <cstdint>
#include <vector>

#include "core/types.h"

namespace seer {

struct GroundedBox {
  std::array<float, 4> xyxy{};  // pixel edges
  int64_t label = 0;
  std::vector<Span> spans;
};

// Clamps each box to the w x h image, drops what is left empty together with
// its spans, and sets t.boxes, labels, area, iscrowd and tokens_positive.
void set_grounded_boxes(Target& t, const std::vector<GroundedBox>& boxes, float w, float h);

}  // namespace seer
