// Benchmark (not a test): BERT-base forward on B x L tokens, eval mode, no grad.
// Prints the median time in ms as `bert_base_forward_ms <value>`; driven by
// scripts/bench/bench_bert.py, which runs the Python reference the same way.
//
//   bench_bert [--threads N] [--batch 8] [--length 32] [--repeats 20]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "text/bert.h"

int main(int argc, char** argv) {
  int threads = 1, batch = 8, length = 32, repeats = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--threads") threads = v;
    else if (a == "--batch") batch = v;
    else if (a == "--length") length = v;
    else if (a == "--repeats") repeats = v;
    else {
      std::fprintf(stderr, "bench_bert: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  seer::text::BertModel model(seer::text::BertOptions{});
  model->eval();
  auto ids = torch::randint(1000, 30522, {batch, length}, torch::kLong);
  auto mask = torch::ones({batch, length}, torch::kLong);
  mask.slice(0, batch / 2).slice(1, length * 3 / 4).fill_(0);  // some padding, as in real batches
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 3; ++i) model->forward(ids, mask);
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = model->forward(ids, mask);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("threads %d batch %d length %d repeats %d\n", threads, batch, length, repeats);
  std::printf("bert_base_forward_ms %.3f\n", ms[ms.size() / 2]);
  return 0;
}
