// Benchmark (not a test): seer's training data loader, built from a config the
// way `seer train` builds it (dataset, transforms, batching, padding, worker
// threads), consumed as fast as it can deliver. Driven by
// scripts/bench/bench_loader.py, which runs the official DETR torchvision
// pipeline on the same images.
//
//   bench_loader --config configs/detr/detr_r50_coco.yaml --set data.root=DIR [--set key=value]...
//                [--epochs 2] [--workers N] [--threads 1]
//
// Prints `images_per_s <value>` over every epoch after the first (the first
// warms the file cache and the workers), `images <n>` and `batches <n>`.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/error.h"
#include "data/loader.h"
#include "cli/resolve.h"

namespace {

int run(int argc, char** argv) {
  std::string config;
  std::vector<std::string> sets;
  int64_t epochs = 2, workers = -1, threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw seer::ConfigError("bench_loader: " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--config") config = v;
    else if (a == "--set") sets.push_back(v);
    else if (a == "--epochs") epochs = std::stoll(v);
    else if (a == "--workers") workers = std::stoll(v);
    else if (a == "--threads") threads = std::stoll(v);
    else throw seer::ConfigError("bench_loader: unknown flag " + a);
  }
  if (config.empty()) throw seer::ConfigError("bench_loader: --config is required");
  if (epochs < 2) throw seer::ConfigError("bench_loader: --epochs must be >= 2 (the first one is warm-up)");
  torch::set_num_threads(static_cast<int>(threads));
  seer::ResolvedConfig r = seer::resolve_config(config, sets);
  if (!r.data.train) throw seer::ConfigError(config + ": no data.train section");
  seer::LoaderOptions lo = r.data.train->loader;
  if (workers >= 0) lo.num_workers = static_cast<int>(workers);
  seer::Loader loader(r.data.train->build_dataset(), r.data.train->transforms, lo);
  int64_t images = 0, batches = 0;
  double seconds = 0;
  for (int64_t e = 0; e < epochs; ++e) {
    auto t0 = std::chrono::steady_clock::now();
    loader.start_epoch(e);
    int64_t n = 0, nb = 0;
    while (auto b = loader.next()) {
      n += b->size();
      ++nb;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (e == 0) continue;
    images += n;
    batches += nb;
    seconds += s;
  }
  std::printf("workers %d batch %lld\n", lo.num_workers, static_cast<long long>(lo.batch_size));
  std::printf("images %lld\nbatches %lld\n", static_cast<long long>(images), static_cast<long long>(batches));
  std::printf("images_per_s %.2f\n", images / seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return seer::bench::guarded_main(run, argc, argv); }
