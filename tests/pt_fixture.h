#pragma once
// Reads a committed parity fixture: a torch.save'd plain dict of tensors
// (written by the scripts/fixtures/make_*_fixtures.py generators).
#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace seer::test {

using TensorDict = std::unordered_map<std::string, torch::Tensor>;

inline TensorDict load_tensor_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  TensorDict map;
  for (const auto& kv : torch::pickle_load(bytes).toGenericDict()) map[kv.key().toStringRef()] = kv.value().toTensor();
  return map;
}

}  // namespace seer::test
