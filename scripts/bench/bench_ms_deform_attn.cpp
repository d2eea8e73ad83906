// Benchmark (not a test): multi-scale deformable attention at Grounding DINO's
// sizes (an 800x1333 image: levels 100x167, 50x84, 25x42, 13x21 at strides
// 8..64; 8 heads of 32 channels, 4 points), the Fused kernel against the
// Reference grid_sample composition. scripts/bench/bench_ms_deform_attn.py
// runs the official Python function on the same sizes and prints the ratios.
//   bench_ms_deform_attn [--threads T] [--repeats R] [--encoder-repeats R] [--no-encoder] [--only IMPL]
// (--only: run one of fused, reference, kernel_pairs, kernel_buffers.)
// Prints one line per measurement: "<case> <impl> <phase> <median ms>".
// Cases: decoder_n1, decoder_n2 (900 queries), encoder_n1 (one query per
// value, forward only). Phases: forward (no autograd), forward_backward.
// Also the two ways to split the backward over threads, on the kernel alone:
// impl "kernel_pairs" (threads own (batch, head) pairs, as ms_deform_attn does
// with enough pairs) and "kernel_buffers" (threads own query ranges, each with
// a grad_value buffer of its own, summed after).
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.h"
#include "ops/ms_deform_attn.h"
#include "ops/ms_deform_attn_kernel.h"

namespace {

using seer::MSDeformAttnImpl;
using seer::bench::Clock;
using seer::bench::median;
using seer::bench::ms_since;

struct Inputs {
  torch::Tensor value, shapes, starts, loc, aw, grad_out;
};

// Locations as the model makes them: a reference point per query, the same
// normalised point on every level, plus offsets of a few pixels of each
// level. Decoder queries (900) have reference points anywhere in the image;
// encoder queries are the S positions of the maps themselves, in order, each
// with its own pixel centre as the reference point.
Inputs make_inputs(int64_t N, bool encoder) {
  const std::vector<int64_t> hw = {100, 167, 50, 84, 25, 42, 13, 21};
  const int64_t L = 4, M = 8, D = 32, P = 4;
  Inputs in;
  in.shapes = torch::tensor(hw, torch::kLong).view({L, 2});
  auto sizes = in.shapes.select(1, 0) * in.shapes.select(1, 1);
  in.starts = torch::cat({torch::zeros({1}, torch::kLong), sizes.cumsum(0).narrow(0, 0, L - 1)});
  const int64_t S = sizes.sum().item<int64_t>();
  torch::manual_seed(0);
  in.value = torch::randn({N, S, M, D});
  torch::Tensor ref;  // [N, Lq, 2] (x, y)
  if (encoder) {
    std::vector<torch::Tensor> centres;
    for (int64_t l = 0; l < L; ++l) {
      const int64_t H = hw[2 * l], W = hw[2 * l + 1];
      auto y = (torch::arange(H, torch::kFloat) + 0.5) / H, x = (torch::arange(W, torch::kFloat) + 0.5) / W;
      centres.push_back(
          torch::stack({x.view({1, W}).expand({H, W}), y.view({H, 1}).expand({H, W})}, -1).view({H * W, 2}));
    }
    ref = torch::cat(centres).unsqueeze(0).expand({N, S, 2});
  } else {
    ref = torch::rand({N, 900, 2});
  }
  const int64_t Lq = ref.size(1);
  auto wh =
      torch::stack({in.shapes.select(1, 1), in.shapes.select(1, 0)}, -1).to(torch::kFloat).view({1, 1, 1, L, 1, 2});
  in.loc = ref.view({N, Lq, 1, 1, 1, 2}) + torch::randn({N, Lq, M, L, P, 2}) * 2.0 / wh;
  in.aw = torch::randn({N, Lq, M, L * P}).softmax(-1).view({N, Lq, M, L, P});
  in.grad_out = torch::randn({N, Lq, M * D});
  return in;
}

template <class F>
double time_ms(F&& f, int repeats) {
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto a = Clock::now();
    f();
    t.push_back(ms_since(a));
  }
  return median(t);
}

double forward_ms(const Inputs& in, MSDeformAttnImpl impl, int repeats) {
  torch::NoGradGuard no_grad;
  return time_ms([&] { seer::ms_deform_attn(in.value, in.shapes, in.starts, in.loc, in.aw, impl); }, repeats);
}

double forward_backward_ms(const Inputs& in, MSDeformAttnImpl impl, int repeats) {
  return time_ms(
      [&] {
        auto v = in.value.detach().requires_grad_(true);
        auto loc = in.loc.detach().requires_grad_(true);
        auto aw = in.aw.detach().requires_grad_(true);
        seer::ms_deform_attn(v, in.shapes, in.starts, loc, aw, impl).backward(in.grad_out);
      },
      repeats);
}

// The kernel's backward split over threads by (batch, head) pairs, or by
// query ranges with one grad_value buffer per range.
double kernel_backward_ms(const Inputs& in, bool buffers, int repeats) {
  const int64_t N = in.value.size(0), S = in.value.size(1), M = in.value.size(2), D = in.value.size(3);
  const int64_t Lq = in.loc.size(1), L = in.loc.size(3), P = in.loc.size(4);
  const seer::msda::Geometry g{N, S, M, D, Lq, L, P, in.shapes.data_ptr<int64_t>(), in.starts.data_ptr<int64_t>()};
  auto grad_loc = torch::empty_like(in.loc), grad_aw = torch::empty_like(in.aw);
  const float *v = in.value.data_ptr<float>(), *l = in.loc.data_ptr<float>(), *a = in.aw.data_ptr<float>(),
              *go = in.grad_out.data_ptr<float>();
  float *gl = grad_loc.data_ptr<float>(), *ga = grad_aw.data_ptr<float>();
  return time_ms(
      [&] {
        auto grad_value = torch::zeros_like(in.value);
        if (!buffers) {
          at::parallel_for(0, N * M, 1, [&](int64_t b, int64_t e) {
            seer::msda::backward(g, v, l, a, go, grad_value.data_ptr<float>(), gl, ga, b, e, 0, Lq);
          });
          return;
        }
        const int64_t T = at::get_num_threads();
        std::vector<torch::Tensor> partial;
        for (int64_t t = 1; t < T; ++t) partial.push_back(torch::zeros_like(in.value));
        at::parallel_for(0, T, 1, [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t) {
            float* gv = (t == 0 ? grad_value : partial[t - 1]).data_ptr<float>();
            seer::msda::backward(g, v, l, a, go, gv, gl, ga, 0, N * M, Lq * t / T, Lq * (t + 1) / T);
          }
        });
        for (const auto& p : partial) grad_value.add_(p);
      },
      repeats);
}

void report(const char* name, const char* impl, const char* phase, double ms) {
  std::printf("%s %s %s %.3f\n", name, impl, phase, ms);
  std::fflush(stdout);
}

int run(int argc, char** argv) {
  int threads = 0, repeats = 10, encoder_repeats = 3;
  bool encoder = true;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::stoi(argv[++i]);
    } else if (a == "--encoder-repeats" && i + 1 < argc) {
      encoder_repeats = std::stoi(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--no-encoder") {
      encoder = false;
    } else {
      throw seer::ConfigError("bench_ms_deform_attn: unknown argument '" + a +
                              "' (--threads T --repeats R --encoder-repeats R --no-encoder --only IMPL)");
    }
  }
  if (threads > 0) at::set_num_threads(threads);
  auto want = [&](const char* impl) { return only.empty() || only == impl; };
  std::fprintf(stderr, "threads %d\n", at::get_num_threads());
  for (int64_t N : {1, 2}) {
    const std::string name = "decoder_n" + std::to_string(N);
    const auto in = make_inputs(N, /*encoder=*/false);
    for (auto [impl, label] :
         {std::pair{MSDeformAttnImpl::Fused, "fused"}, {MSDeformAttnImpl::Reference, "reference"}}) {
      if (!want(label)) continue;
      report(name.c_str(), label, "forward", forward_ms(in, impl, repeats));
      report(name.c_str(), label, "forward_backward", forward_backward_ms(in, impl, repeats));
    }
    if (want("kernel_pairs")) report(name.c_str(), "kernel_pairs", "backward", kernel_backward_ms(in, false, repeats));
    if (want("kernel_buffers"))
      report(name.c_str(), "kernel_buffers", "backward", kernel_backward_ms(in, true, repeats));
  }
  if (encoder) {
    const auto in = make_inputs(1, /*encoder=*/true);
    if (want("fused"))
      report("encoder_n1", "fused", "forward", forward_ms(in, MSDeformAttnImpl::Fused, encoder_repeats));
    if (want("reference"))
      report("encoder_n1", "reference", "forward", forward_ms(in, MSDeformAttnImpl::Reference, encoder_repeats));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return seer::bench::guarded_main(run, argc, argv); }
