// Uses installed headers by their folder prefixes and runs a few functions.
#include <core/config.h>
#include <losses/hungarian.h>

#include <iostream>

int main() {
  seer::Config c = seer::Config::from_string("data: {batch_size: 3}\n");
  auto bs = c.section("data").get<int64_t>("batch_size", 1, "images per process");
  auto [rows, cols] = seer::linear_sum_assignment(torch::tensor({{4.0, 1.0}, {2.0, 8.0}}));
  std::cout << "batch_size " << bs << " assignment " << cols[0].item<int64_t>() << cols[1].item<int64_t>() << "\n";
  return bs == 3 && cols[0].item<int64_t>() == 1 && cols[1].item<int64_t>() == 0 ? 0 : 1;
}
