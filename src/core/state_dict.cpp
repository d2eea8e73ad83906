// State dicts of modules: listing, loading by name, writing .pth files.
#include <torch/csrc/jit/serialization/pickle.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "core/checkpoint.h"
#include "core/error.h"

namespace seer {

namespace {

std::string shape_str(c10::IntArrayRef s) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k) out += (k ? "," : "") + std::to_string(s[k]);
  return out + "]";
}

// "a, b, c, ... (+4 more)"
template <class T, class F>
std::string first_few(const std::vector<T>& xs, F show, size_t limit = 3) {
  std::string s;
  for (size_t k = 0; k < xs.size() && k < limit; ++k) s += (k ? ", " : "") + show(xs[k]);
  if (xs.size() > limit) s += ", ... (+" + std::to_string(xs.size() - limit) + " more)";
  return s;
}

void add_own(const torch::nn::Module& m, const std::string& prefix, StateDict& out) {
  auto key = [&](const std::string& name) { return prefix.empty() ? name : prefix + "." + name; };
  for (const auto& p : m.named_parameters(/*recurse=*/false))
    if (p.value().defined() && !out.contains(key(p.key()))) out.insert(key(p.key()), p.value());
  for (const auto& b : m.named_buffers(/*recurse=*/false))
    if (b.value().defined() && !out.contains(key(b.key()))) out.insert(key(b.key()), b.value());
}

}  // namespace

std::string LoadReport::summary() const {
  auto name = [](const std::string& s) { return s; };
  std::string s = "loaded " + std::to_string(loaded.size()) + " tensors; missing " + std::to_string(missing.size());
  if (!missing.empty()) s += " (" + first_few(missing, name) + ")";
  s += "; unexpected " + std::to_string(unexpected.size());
  if (!unexpected.empty()) s += " (" + first_few(unexpected, name) + ")";
  s += "; shape-mismatched " + std::to_string(mismatched.size());
  if (!mismatched.empty())
    s += " (" +
         first_few(mismatched,
                   [](const ShapeMismatch& m) {
                     return m.name + " " + shape_str(m.file_shape) + " vs " + shape_str(m.model_shape);
                   }) +
         ")";
  return s;
}

StateDict module_state_dict(const torch::nn::Module& module) {
  // Python order: each module's own parameters, then its own buffers, then its
  // children depth-first. named_modules(include_self=false) is that pre-order.
  StateDict out;
  add_own(module, "", out);
  for (const auto& m : module.named_modules(/*name_prefix=*/"", /*include_self=*/false)) add_own(*m.value(), m.key(), out);
  return out;
}

LoadReport load_state_dict(torch::nn::Module& module, const StateDict& sd, bool strict, const std::string& source,
                           const std::string& prefix) {
  StateDict target = module_state_dict(module);
  LoadReport report;
  std::unordered_map<std::string, bool> seen;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (dst, src)
  for (const auto& item : sd) {
    std::string key = prefix + item.key();
    const torch::Tensor* dst = target.find(key);
    if (!dst) {
      report.unexpected.push_back(item.key());
      continue;
    }
    seen[key] = true;
    if (dst->sizes() != item.value().sizes()) {
      report.mismatched.push_back({key, item.value().sizes().vec(), dst->sizes().vec()});
      continue;
    }
    copies.emplace_back(*dst, item.value());
  }
  for (const auto& item : target)
    if (item.key().rfind(prefix, 0) == 0 && !seen.count(item.key())) report.missing.push_back(item.key());
  // loaded in model order
  for (const auto& item : target)
    if (seen.count(item.key())) {
      bool bad = false;
      for (const auto& m : report.mismatched) bad = bad || m.name == item.key();
      if (!bad) report.loaded.push_back(item.key());
    }

  if (strict && !report.clean()) {
    std::string msg = "load '" + source + "'" + (prefix.empty() ? "" : " into '" + prefix + "'") +
                      ": state_dict does not match the model:";
    if (!report.missing.empty())
      msg += " missing " + std::to_string(report.missing.size()) + " (" +
             first_few(report.missing, [&](const std::string& k) { return k + " " + shape_str(target[k].sizes()); }) +
             ");";
    if (!report.unexpected.empty())
      msg += " unexpected " + std::to_string(report.unexpected.size()) + " (" +
             first_few(report.unexpected, [&](const std::string& k) { return k + " " + shape_str(sd[k].sizes()); }) +
             ");";
    if (!report.mismatched.empty())
      msg += " shape-mismatched " + std::to_string(report.mismatched.size()) + " (" +
             first_few(report.mismatched,
                       [](const ShapeMismatch& m) {
                         return m.name + " file " + shape_str(m.file_shape) + " vs model " + shape_str(m.model_shape);
                       }) +
             ");";
    msg.pop_back();
    msg += " (set model.strict_load=false to load what matches)";
    throw RuntimeError(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src);
  return report;
}

namespace detail {

void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& produce) {
  std::string tmp = path + ".tmp";
  try {
    produce(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw RuntimeError("write '" + path + "': cannot rename '" + tmp + "' (" + ec.message() + ")");
  }
}

}  // namespace detail

void write_pth(const std::string& path, const StateDict& tensors) {
  // torch::pickle_save writes the zip format of torch.save; a c10::Dict keeps
  // insertion order and pickles as a plain dict.
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& item : tensors) {
    if (!item.value().defined()) throw RuntimeError("write '" + path + "': tensor '" + item.key() + "' is undefined");
    dict.insert(item.key(), item.value().detach().to(torch::kCPU));
  }
  std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  detail::write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw RuntimeError("write '" + path + "': cannot create '" + tmp + "'");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw RuntimeError("write '" + path + "': write failed (disk full?)");
  });
}

}  // namespace seer
