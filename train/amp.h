#pragma once
// Mixed precision (runtime.amp: off | bf16 | fp16), the C++ counterpart of
// torch.autocast and torch.cuda.amp.GradScaler.
//
// AutocastGuard turns autocast on for the device's dispatch key for its scope:
// matmuls and convolutions run in the low-precision type, precision-sensitive
// ops stay float32, the rest follow their inputs. The trainer scopes it around
// model->loss() only; backward runs outside, as PyTorch recommends. CPU autocast
// supports bfloat16 only (fp16 on CPU is refused by the config reader).
//
// GradScaler (fp16 only: bfloat16 has float32's exponent range) multiplies the
// loss by `scale` before backward so small fp16 gradients do not flush to zero,
// divides the gradients by it before clipping, and skips the optimizer step when
// any gradient is inf/NaN. The scale halves on such a step and doubles after
// growth_interval clean steps in a row (PyTorch's defaults: 65536, x2 / 2000, x0.5).
#include <torch/torch.h>

#include <string>
#include <vector>

namespace seer {

enum class AmpMode { Off, BF16, FP16 };
// "off" | "bf16" | "fp16" (already validated by read_runtime_options).
AmpMode parse_amp_mode(const std::string& name);

class AutocastGuard {
 public:
  // Mode Off is a no-op. Nested guards are fine; the outermost one clears the
  // cast cache on exit, as torch.autocast does.
  AutocastGuard(AmpMode mode, const torch::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false, cuda_ = false;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kFloat;
};

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale (what backward is called on).
  torch::Tensor scale(const torch::Tensor& loss) const { return loss * scale_; }
  // Divides every defined gradient by the scale in place; true when all are finite.
  bool unscale(const std::vector<torch::Tensor>& params);
  // After a step attempt: backoff when `found_inf`, else count a clean step and
  // grow the scale every growth_interval of them.
  void update(bool found_inf);

  double current_scale() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }
  int64_t skipped_steps() const { return skipped_; }

  // {"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"}
  // (the keys of torch.cuda.amp.GradScaler.state_dict()) plus "skipped_steps".
  c10::IValue state_dict() const;
  void load_state_dict(const c10::IValue& state);

 private:
  GradScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace seer
