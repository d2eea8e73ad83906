#include "data/loader.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

#include "core/error.h"
#include "core/logging.h"
#include "data/collate.h"

namespace seer {

LoaderOptions read_loader_options(const ConfigSection& data, bool train, uint64_t seed) {
  LoaderOptions o;
  o.batch_size = data.get<int64_t>("batch_size", 2, "images per process and iteration");
  if (o.batch_size < 1) data.fail("batch_size", "must be >= 1");
  // Default: half the cores (the other half run the model's intra-op threads), 1 to 8.
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int default_workers = std::clamp(cores / 2, 1, 8);
  o.num_workers = data.get<int>("num_workers", default_workers,
                                "loader worker threads (0 = load in the calling thread; default half the cores, 1..8)");
  if (o.num_workers < 0) data.fail("num_workers", "must be >= 0");
  o.prefetch_batches = data.get<int>("prefetch_batches", 4, "batches prepared ahead of the training loop");
  if (o.prefetch_batches < 1) data.fail("prefetch_batches", "must be >= 1");
  o.aspect_ratio_grouping = data.get<bool>("aspect_ratio_grouping", false,
                                           "batch landscape and portrait images separately (training only)") && train;
  o.size_divisibility = data.get<int64_t>("size_divisibility", 0, "pad batches to a multiple of this (0 = none)");
  o.on_error = parse_on_error(data.get<std::string>("on_error", "skip", "broken sample: skip (warn and count) or fail"));
  o.shuffle = train;
  o.drop_last = false;
  o.seed = seed;
  return o;
}

Loader::Loader(std::shared_ptr<Dataset> dataset, TransformList transforms, LoaderOptions options)
    : dataset_(std::move(dataset)), transforms_(std::move(transforms)), options_(options) {
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size)
    throw RuntimeError("loader: invalid rank " + std::to_string(options_.rank) + " of world size " +
                       std::to_string(options_.world_size));
}

Loader::~Loader() { stop_workers(); }

std::vector<std::vector<int64_t>> Loader::epoch_plan(int64_t epoch) const {
  const int64_t n = dataset_->size();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle && n > 1) {
    SampleRng rng(sample_seed(options_.seed, epoch, -1));
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.randint(0, i)]);
  }
  // this rank's share, padded like DistributedSampler
  std::vector<int64_t> mine;
  if (options_.world_size > 1 && n > 0) {
    const int64_t per_rank = (n + options_.world_size - 1) / options_.world_size;
    const int64_t total = per_rank * options_.world_size;
    for (int64_t k = options_.rank; k < total; k += options_.world_size) mine.push_back(order[k % n]);
  } else {
    mine = std::move(order);
  }
  std::vector<std::vector<int64_t>> batches;
  const auto bs = static_cast<size_t>(options_.batch_size);
  if (options_.aspect_ratio_grouping) {
    std::vector<int64_t> groups[2];
    for (int64_t idx : mine) {
      auto hw = dataset_->image_size(idx);
      auto& g = groups[hw[1] > hw[0] ? 0 : 1];
      g.push_back(idx);
      if (g.size() == bs) {
        batches.push_back(std::move(g));
        g.clear();
      }
    }
    for (auto& g : groups)
      if (!g.empty() && !options_.drop_last) batches.push_back(std::move(g));
  } else {
    for (size_t i = 0; i < mine.size(); i += bs) {
      std::vector<int64_t> b(mine.begin() + i, mine.begin() + std::min(mine.size(), i + bs));
      if (b.size() < bs && options_.drop_last) break;
      batches.push_back(std::move(b));
    }
  }
  return batches;
}

int64_t Loader::batches_per_epoch() const { return static_cast<int64_t>(epoch_plan(0).size()); }

Sample Loader::load_sample(int64_t index, int64_t epoch) const {
  Sample s = dataset_->get(index);
  s.categories = &dataset_->categories();
  SampleRng rng(sample_seed(options_.seed, epoch, index));
  apply_transforms(transforms_, s, rng);
  return s;
}

std::optional<Batch> Loader::build_batch(const std::vector<int64_t>& indices, int64_t epoch) {
  std::vector<Sample> samples;
  samples.reserve(indices.size());
  for (int64_t idx : indices) {
    try {
      samples.push_back(load_sample(idx, epoch));
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (dynamic_cast<const Error*>(&e) == nullptr) msg = "sample " + std::to_string(idx) + ": " + msg;
      if (options_.on_error == OnError::Fail) throw DataError(msg + " (data.on_error=fail)");
      ++skipped_;
      log().warn("skipping sample {}: {}", idx, msg);
    }
  }
  if (samples.empty()) return std::nullopt;
  return collate(std::move(samples), options_.size_divisibility);
}

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_space_.notify_all();
  cv_ready_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stopping_ = false;
}

void Loader::start_epoch(int64_t epoch, int64_t skip_batches) {
  stop_workers();
  plan_ = epoch_plan(epoch);
  epoch_ = epoch;
  next_to_yield_ = std::min<int64_t>(skip_batches, plan_.size());
  next_to_build_ = next_to_yield_;
  ready_.clear();
  error_.clear();
  for (int i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void Loader::worker_loop() {
  // Each decode/augment runs single-threaded inside a worker; the workers are the parallelism.
  at::set_num_threads(1);
  while (true) {
    int64_t j;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_space_.wait(lock, [&] {
        return stopping_ || !error_.empty() || next_to_build_ < next_to_yield_ + options_.prefetch_batches;
      });
      if (stopping_ || !error_.empty()) return;
      j = next_to_build_++;
      if (j >= static_cast<int64_t>(plan_.size())) return;
    }
    std::optional<Batch> batch;
    std::string err;
    try {
      batch = build_batch(plan_[j], epoch_);
    } catch (const std::exception& e) {
      err = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!err.empty() && error_.empty()) error_ = err;
      ready_[j] = std::move(batch);
    }
    cv_ready_.notify_all();
  }
}

std::optional<Batch> Loader::next() {
  auto t0 = std::chrono::steady_clock::now();
  while (next_to_yield_ < static_cast<int64_t>(plan_.size())) {
    std::optional<Batch> batch;
    if (options_.num_workers == 0) {
      batch = build_batch(plan_[next_to_yield_], epoch_);
      ++next_to_yield_;
    } else {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_ready_.wait(lock, [&] { return !error_.empty() || ready_.count(next_to_yield_) > 0; });
      if (!error_.empty()) {
        std::string err = error_;
        lock.unlock();
        stop_workers();
        throw DataError(err);
      }
      batch = std::move(ready_[next_to_yield_]);
      ready_.erase(next_to_yield_);
      ++next_to_yield_;
      lock.unlock();
      cv_space_.notify_all();
    }
    if (batch) {
      last_wait_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return batch;
    }
  }
  last_wait_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::nullopt;
}

}  // namespace seer
