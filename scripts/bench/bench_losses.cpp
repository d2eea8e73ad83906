// Benchmark (not a test): seer::linear_sum_assignment and the DETR matcher
// on the inputs written by scripts/bench/bench_losses.py, which runs scipy and
// the official DETR matcher on the same tensors and prints the ratios.
//   bench_losses INPUTS.pt [repeats]
// Prints one line per case: "<name> <median milliseconds>".
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

#include "losses/hungarian.h"
#include "losses/hungarian_matcher.h"

namespace {

template <class F>
double median_ms(F&& f, int repeats) {
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_losses INPUTS.pt [repeats]\n";
    return 2;
  }
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 20;
  torch::set_num_threads(1);
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, torch::Tensor> d;
  for (const auto& kv : torch::pickle_load(bytes).toGenericDict()) d[kv.key().toStringRef()] = kv.value().toTensor();

  for (const auto& kv : d) {
    if (kv.first.rfind("lsa_", 0) != 0) continue;
    const auto& m = kv.second;
    std::cout << kv.first << " " << median_ms([&] { seer::linear_sum_assignment(m); }, repeats) << std::endl;
  }
  if (d.count("detr/logits")) {
    std::vector<seer::SetTarget> targets;
    for (int j = 0; d.count("detr/labels" + std::to_string(j)); ++j) {
      seer::SetTarget t;
      t.labels = d["detr/labels" + std::to_string(j)];
      t.boxes = d["detr/boxes" + std::to_string(j)];
      targets.push_back(t);
    }
    auto logits = d["detr/logits"], boxes = d["detr/boxes"];
    std::cout << "detr_matcher " << median_ms([&] { seer::hungarian_match(logits, boxes, targets); }, repeats)
              << std::endl;
  }
  return 0;
}
