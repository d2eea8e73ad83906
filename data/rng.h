#pragma once
// Per-sample randomness. Every random choice an augmentation makes is drawn
// from a generator seeded by (seed, epoch, sample index), so results do not
// depend on how many workers or processes load the data, or in which order.
#include <cstdint>
#include <random>

namespace seer {

// SplitMix64 mixing of the three numbers into one seed.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);

class SampleRng {
 public:
  explicit SampleRng(uint64_t seed) : engine_(seed) {}
  // Uniform in [0, 1).
  double uniform();
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi] (both inclusive).
  int64_t randint(int64_t lo, int64_t hi);
  bool bernoulli(double p) { return uniform() < p; }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace seer
