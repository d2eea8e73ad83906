#include "text/encoding.h"

namespace seer::text {

int64_t Encoding::length() const {
  int64_t n = 0;
  for (int64_t m : attention_mask) n += m;
  return n;
}

std::vector<int64_t> Encoding::tokens_in_span(int64_t begin, int64_t end, int sequence) const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (sequence_ids[i] != sequence) continue;
    const Offset& o = offsets[i];
    if (o.begin < end && begin < o.end) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

}  // namespace seer::text
