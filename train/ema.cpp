#include "train/ema.h"

#include <cmath>

#include "core/error.h"

namespace seer {

ModelEma::ModelEma(const torch::nn::Module& model, EmaOptions options) : options_(options) {
  torch::NoGradGuard no_grad;
  for (const auto& item : module_state_dict(model)) {
    const auto& v = item.value();
    ema_.insert(item.key(), (v.is_floating_point() ? v.detach().to(torch::kFloat32) : v.detach()).clone());
  }
}

double ModelEma::next_decay() const {
  return options_.decay * (1.0 - std::exp(-static_cast<double>(updates_ + 1) / options_.tau));
}

void ModelEma::update(const torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  const double d = next_decay();
  ++updates_;
  auto current = module_state_dict(model);
  if (current.size() != ema_.size())
    throw RuntimeError("EMA: the model has " + std::to_string(current.size()) + " tensors, the average " +
                       std::to_string(ema_.size()));
  for (size_t i = 0; i < current.size(); ++i) {
    auto& e = ema_[i].value();
    const auto& w = current[i].value();
    if (e.is_floating_point()) e.mul_(d).add_(w.detach().to(e.dtype()), 1.0 - d);  // d*ema + (1-d)*w
    else e.copy_(w);
  }
}

void ModelEma::swap_into(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  auto current = module_state_dict(model);
  for (size_t i = 0; i < current.size(); ++i) {
    auto& w = current[i].value();
    auto& e = ema_[i].value();
    auto saved = w.detach().to(e.dtype(), /*non_blocking=*/false, /*copy=*/true);
    w.copy_(e);
    e.copy_(saved);
  }
}

c10::impl::GenericDict ModelEma::state_dict() const {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  for (const auto& item : ema_) d.insert(item.key(), item.value().detach().cpu());
  return d;
}

void ModelEma::load_state_dict(const c10::IValue& ema, int64_t updates, const std::string& source) {
  if (!ema.isGenericDict()) throw DataError(source + ": the 'ema' entry is not a dict of tensors");
  auto dict = ema.toGenericDict();
  if (dict.size() != ema_.size())
    throw RuntimeError(source + ": the EMA holds " + std::to_string(dict.size()) + " tensors, the model " +
                       std::to_string(ema_.size()));
  torch::NoGradGuard no_grad;
  for (auto& item : ema_) {
    auto it = dict.find(item.key());
    if (it == dict.end() || !it->value().isTensor())
      throw RuntimeError(source + ": EMA tensor '" + item.key() + "' is missing");
    const auto& t = it->value().toTensor();
    if (t.sizes() != item.value().sizes())
      throw RuntimeError(source + ": EMA tensor '" + item.key() + "' has shape " + c10::str(t.sizes()) +
                         ", the model " + c10::str(item.value().sizes()));
    item.value().copy_(t);
  }
  updates_ = updates;
}

EmaSwap::EmaSwap(ModelEma* ema, torch::nn::Module& model) : ema_(ema), model_(model) {
  if (ema_) ema_->swap_into(model_);
}

EmaSwap::~EmaSwap() {
  if (ema_) ema_->swap_into(model_);
}

}  // namespace seer
