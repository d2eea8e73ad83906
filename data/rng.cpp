#include "data/rng.h"

namespace seer {

namespace {
uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return splitmix(splitmix(splitmix(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

// Our own draws instead of std::uniform_*_distribution: their output is
// implementation-defined, ours is the same on every standard library.
double SampleRng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

int64_t SampleRng::randint(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  // rejection sampling to avoid modulo bias
  uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t r;
  do r = engine_(); while (r >= limit);
  return lo + static_cast<int64_t>(r % span);
}

}  // namespace seer
