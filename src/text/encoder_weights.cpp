#include "text/encoder_weights.h"

#include <set>
#include <sstream>

#include "core/error.h"

namespace seer::text {

std::string shape_str(const torch::Tensor& t) {
  if (!t.defined()) return "[undefined]";
  std::ostringstream s;
  s << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
  s << "]";
  return s.str();
}

namespace {

std::string join_some(const std::vector<std::string>& v, size_t max_items = 5) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > max_items) out += ", ... (" + std::to_string(v.size()) + " in all)";
  return out;
}

}  // namespace

LoadReport load_encoder_weights(torch::nn::Module& module, const StateDict& weights, bool strict,
                                const std::string& who) {
  LoadReport report;
  auto params = module.named_parameters(/*recurse=*/true);
  std::set<std::string> known;
  for (const auto& kv : params) {
    known.insert(kv.key());
    auto it = weights.find(kv.key());
    if (it == weights.end()) {
      report.missing.push_back(kv.key());
      continue;
    }
    const torch::Tensor& src = it->second;
    if (!src.defined() || src.sizes() != kv.value().sizes())
      throw RuntimeError(who + ": weight '" + kv.key() + "' has shape " + shape_str(src) + ", the model expects " +
                         shape_str(kv.value()));
    if (!src.is_floating_point())
      throw RuntimeError(who + ": weight '" + kv.key() + "' is not a floating-point tensor");
    report.loaded.push_back(kv.key());
  }
  for (const auto& kv : weights)
    if (!known.count(kv.first)) report.unexpected.push_back(kv.first);
  if (strict && !report.missing.empty())
    throw RuntimeError(who + ": " + std::to_string(report.missing.size()) +
                       " weights missing from the checkpoint: " + join_some(report.missing));
  if (strict && !report.unexpected.empty())
    throw RuntimeError(who + ": " + std::to_string(report.unexpected.size()) +
                       " unexpected keys in the checkpoint: " + join_some(report.unexpected));
  torch::NoGradGuard no_grad;
  for (auto& kv : params) {
    auto it = weights.find(kv.key());
    if (it != weights.end()) kv.value().copy_(it->second.to(kv.value().dtype()));
  }
  return report;
}

void require_positive(const char* encoder, int64_t v, const char* name) {
  if (v <= 0) throw RuntimeError(std::string(encoder) + ": " + name + " must be > 0, got " + std::to_string(v));
}

std::shared_ptr<torch::nn::Module> scope(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

torch::nn::LayerNorm layer_norm(int64_t dim, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

}  // namespace seer::text
