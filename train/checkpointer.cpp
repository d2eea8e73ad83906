#include "train/checkpointer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <regex>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/logging.h"
#include "seer_build_info.h"

namespace fs = std::filesystem;

namespace seer {

namespace {
using IDict = c10::impl::GenericDict;
}  // namespace

void save_checkpoint(const std::string& path, Model& model, const Optimizer* optimizer, const TrainState& state,
                     const std::string& config_yaml, const CheckpointExtras& extras,
                     const CategoryTable& categories) {
  IDict weights = empty_ivalue_dict();
  for (const auto& item : module_state_dict(model)) weights.insert(item.key(), item.value().detach().cpu());
  IDict meta = empty_ivalue_dict();
  meta.insert("family", model.family());
  meta.insert("epoch", state.epoch);
  meta.insert("iter", state.iter);
  meta.insert("batches_done_in_epoch", state.batches_done_in_epoch);
  meta.insert("best_metric", state.best_metric);
  meta.insert("best_metric_value", state.best_metric_value ? c10::IValue(*state.best_metric_value) : c10::IValue());
  meta.insert("seed", static_cast<int64_t>(state.seed));
  meta.insert("elapsed_s", state.elapsed_s);
  meta.insert("seer_version", std::string(SEER_VERSION));
  // The class table travels with the weights, so predict and export need no dataset.
  if (categories.size() > 0) meta.insert("categories", categories_to_json(categories));
  torch::Tensor rng;
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    rng = gen.get_state();
  }
  IDict top = empty_ivalue_dict();
  top.insert("model", weights);
  if (optimizer) top.insert("optimizer", optimizer->state_dict());
  top.insert("meta", meta);
  top.insert("rng", rng);
  top.insert("config", config_yaml);
  for (const auto& [key, value] : extras) top.insert(key, value);
  std::vector<char> bytes = torch::pickle_save(top);
  detail::write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw RuntimeError("cannot write checkpoint '" + tmp + "'");
  });
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open checkpoint '" + path + "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Checkpoint c;
  c.path = path;
  c10::IValue v;
  try {
    v = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    throw DataError(path + ": not a readable seer checkpoint (" + msg.substr(0, msg.find('\n')) + ")");
  }
  if (!v.isGenericDict()) throw DataError(path + ": not a seer checkpoint (top level is not a dict)");
  c.dict = v.toGenericDict();
  for (const char* k : {"model", "meta", "rng", "config"})
    if (!c.dict.contains(k))
      throw DataError(path + ": not a seer training checkpoint (no '" + std::string(k) + "' entry)");
  try {
    auto meta = c.dict.at("meta").toGenericDict();
    c.family = meta.at("family").toStringRef();
    c.state.epoch = meta.at("epoch").toInt();
    c.state.iter = meta.at("iter").toInt();
    c.state.batches_done_in_epoch = meta.at("batches_done_in_epoch").toInt();
    c.state.best_metric = meta.at("best_metric").toStringRef();
    auto best = meta.at("best_metric_value");
    if (!best.isNone()) c.state.best_metric_value = best.toDouble();
    c.state.seed = static_cast<uint64_t>(meta.at("seed").toInt());
    if (meta.contains("elapsed_s")) c.state.elapsed_s = meta.at("elapsed_s").toDouble();
    c.seer_version = meta.at("seer_version").toStringRef();
    c.config_yaml = c.dict.at("config").toStringRef();
  } catch (const c10::Error& e) {
    throw DataError(path + ": malformed 'meta' entry in the checkpoint");
  }
  return c;
}

void restore_model(Model& model, const Checkpoint& ckpt) {
  if (ckpt.family != model.family())
    throw RuntimeError(ckpt.path + ": a '" + ckpt.family + "' checkpoint cannot be loaded into the config's '" +
                       model.family() + "' model");
  StateDict sd;
  for (const auto& kv : ckpt.dict.at("model").toGenericDict()) sd.insert(kv.key().toStringRef(), kv.value().toTensor());
  load_state_dict(model, sd, /*strict=*/true, ckpt.path);
}

void restore_rng(const Checkpoint& ckpt) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(ckpt.dict.at("rng").toTensor());
}

void Checkpointer::prune() const {
  if (keep_last_ <= 0) return;
  static const std::regex name_re("epoch_([0-9]+)\\.pt");
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::smatch m;
    std::string name = e.path().filename().string();
    if (std::regex_match(name, m, name_re)) found.emplace_back(std::stoll(m[1]), e.path());
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + static_cast<size_t>(keep_last_) < found.size(); ++i) fs::remove(found[i].second, ec);
}

}  // namespace seer
