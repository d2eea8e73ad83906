#include "train/amp.h"

#include <ATen/autocast_mode.h>

#include "core/error.h"

namespace seer {

AmpMode parse_amp_mode(const std::string& name) {
  if (name == "off") return AmpMode::Off;
  if (name == "bf16") return AmpMode::BF16;
  if (name == "fp16") return AmpMode::FP16;
  throw ConfigError("runtime.amp: expects off, bf16 or fp16, got '" + name + "'");
}

AutocastGuard::AutocastGuard(AmpMode mode, const torch::Device& device) {
  if (mode == AmpMode::Off) return;
  const at::ScalarType dtype = mode == AmpMode::BF16 ? at::kBFloat16 : at::kHalf;
  cuda_ = device.is_cuda();
  if (!cuda_ && mode == AmpMode::FP16)
    throw ConfigError("runtime.amp: fp16 autocast needs a CUDA device (CPU autocast supports bf16 only)");
  if (cuda_) {
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    prev_enabled_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
  } else {
    at::autocast::set_cpu_enabled(prev_enabled_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
  }
}

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  if (!(options_.init_scale > 0) || !(options_.growth_factor > 1) || !(options_.backoff_factor > 0) ||
      !(options_.backoff_factor < 1) || options_.growth_interval < 1)
    throw RuntimeError("GradScaler: needs init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval >= 1");
}

bool GradScaler::unscale(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  const double inv = 1.0 / scale_;
  bool finite = true;
  for (const auto& p : params) {
    auto& g = p.mutable_grad();
    if (!g.defined()) continue;
    // Parameters (and so gradients) stay float32 under autocast: no underflow here.
    if (finite && !torch::isfinite(g).all().item<bool>()) finite = false;
    g.mul_(inv);
  }
  return finite;
}

void GradScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
    ++skipped_;
    return;
  }
  if (++growth_tracker_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
}

c10::IValue GradScaler::state_dict() const {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert("scale", scale_);
  d.insert("growth_factor", options_.growth_factor);
  d.insert("backoff_factor", options_.backoff_factor);
  d.insert("growth_interval", options_.growth_interval);
  d.insert("_growth_tracker", growth_tracker_);
  d.insert("skipped_steps", skipped_);
  return d;
}

void GradScaler::load_state_dict(const c10::IValue& state) {
  try {
    auto d = state.toGenericDict();
    scale_ = d.at("scale").toDouble();
    growth_tracker_ = d.at("_growth_tracker").toInt();
    if (d.contains("skipped_steps")) skipped_ = d.at("skipped_steps").toInt();
  } catch (const c10::Error&) {
    throw DataError("malformed 'grad_scaler' entry in the checkpoint");
  }
}

}  // namespace seer
