#pragma once
// The data loader: worker threads decode and augment samples, batches are
// collated and handed out in order with a bounded prefetch queue.
//
// Order and content are deterministic for a given seed: the epoch's sample order
// comes from (seed, epoch), each sample's augmentation from (seed, epoch, index),
// so the number of workers changes speed only. Distributed sampling splits the
// epoch's order between ranks like torch's DistributedSampler (padded by
// repeating the first indices so every rank gets the same count).
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/config.h"
#include "data/dataset.h"
#include "data/transforms.h"

namespace seer {

struct LoaderOptions {
  int64_t batch_size = 2;
  int num_workers = 2;
  int prefetch_batches = 4;
  bool shuffle = true;
  bool drop_last = false;
  bool aspect_ratio_grouping = false;  // batches hold only landscape or only portrait images
  int64_t size_divisibility = 0;       // pad batch H,W up to a multiple of this (0 = none)
  OnError on_error = OnError::Skip;
  uint64_t seed = 42;
  int rank = 0;
  int world_size = 1;
};

class Loader {
 public:
  Loader(std::shared_ptr<Dataset> dataset, TransformList transforms, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Begin an epoch; `skip_batches` resumes mid-epoch (batches already consumed).
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  // The next batch of the epoch, or nullopt at its end. Rethrows DataError
  // under on_error: fail.
  std::optional<Batch> next();
  // Batches this rank yields per epoch.
  int64_t batches_per_epoch() const;
  // The sample indices of each batch of `epoch` for this rank (what next() yields).
  std::vector<std::vector<int64_t>> epoch_plan(int64_t epoch) const;
  // Samples dropped by on_error: skip since construction.
  int64_t skipped_samples() const { return skipped_.load(); }
  // Seconds the last next() call waited for data.
  double last_wait_seconds() const { return last_wait_; }
  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return options_; }

  // Load, augment and return one sample (no batching), e.g. for visualisation.
  Sample load_sample(int64_t index, int64_t epoch) const;

 private:
  void stop_workers();
  void worker_loop();
  std::optional<Batch> build_batch(const std::vector<int64_t>& indices, int64_t epoch);

  std::shared_ptr<Dataset> dataset_;
  TransformList transforms_;
  LoaderOptions options_;

  // current epoch state
  std::vector<std::vector<int64_t>> plan_;
  int64_t epoch_ = 0;
  int64_t next_to_yield_ = 0;
  std::atomic<int64_t> next_to_build_{0};
  std::map<int64_t, std::optional<Batch>> ready_;
  std::string error_;  // first fatal error from a worker
  std::mutex mutex_;
  std::condition_variable cv_ready_, cv_space_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  std::atomic<int64_t> skipped_{0};
  double last_wait_ = 0.0;
};

// Read data.* loader keys (batch_size, num_workers, ...) for one split.
LoaderOptions read_loader_options(const ConfigSection& data, bool train, uint64_t seed);

}  // namespace seer
