#include "train/distributed.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

// ProcessGroupGloo.hpp compiles only with USE_C10D_GLOO, which LibTorch's CMake
// config passes on Linux (where the library always carries Gloo).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/error.h"
#include "core/logging.h"
#include "seer_build_info.h"

#if SEER_TORCH_CUDA
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace seer {

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// A variable that must be a whole number in [lo, hi].
int env_int(const char* name, const std::string& value, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
    throw ConfigError(std::string("environment variable ") + name + "='" + value + "': expects a whole number in [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int>(v);
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// c10d as seer::dist's backend. Collectives are synchronous (launched and waited
// for), and every failure becomes one RuntimeError line naming the rank.
class C10dBackend : public dist::Backend {
 public:
  C10dBackend(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<c10d::ProcessGroup> pg,
              torch::Device comm_device, double timeout_s)
      : store_(std::move(store)), pg_(std::move(pg)), comm_device_(comm_device), timeout_s_(timeout_s) {}

  int rank() const override { return pg_->getRank(); }
  int world_size() const override { return pg_->getSize(); }

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    guarded("all_reduce", [&] {
      for (auto& t : tensors) {
        std::vector<at::Tensor> io{to_comm(t)};
        c10d::AllreduceOptions o;
        o.reduceOp = c10d::ReduceOp::SUM;
        pg_->allreduce(io, o)->wait();
        if (!io[0].is_same(t)) t.copy_(io[0]);
      }
    });
  }

  void broadcast(std::vector<at::Tensor>& tensors, int root) override {
    guarded("broadcast", [&] {
      for (auto& t : tensors) {
        std::vector<at::Tensor> io{to_comm(t)};
        c10d::BroadcastOptions o;
        o.rootRank = root;
        pg_->broadcast(io, o)->wait();
        if (!io[0].is_same(t)) t.copy_(io[0]);
      }
    });
  }

  std::vector<std::string> all_gather_bytes(const std::string& mine) override {
    std::vector<std::string> out;
    guarded("all_gather", [&] {
      const int W = world_size();
      // lengths first, then every payload padded to the longest
      auto len = torch::full({1}, static_cast<int64_t>(mine.size()), torch::kInt64).to(comm_device_);
      std::vector<std::vector<at::Tensor>> lens(1);
      for (int r = 0; r < W; ++r) lens[0].push_back(torch::empty_like(len));
      std::vector<at::Tensor> in{len};
      pg_->allgather(lens, in)->wait();
      std::vector<int64_t> sizes;
      for (const auto& l : lens[0]) sizes.push_back(l.cpu().item<int64_t>());
      const int64_t longest = std::max<int64_t>(1, *std::max_element(sizes.begin(), sizes.end()));
      auto buf = torch::zeros({longest}, torch::kUInt8);
      if (!mine.empty()) std::memcpy(buf.data_ptr<uint8_t>(), mine.data(), mine.size());
      std::vector<at::Tensor> payload{buf.to(comm_device_)};
      std::vector<std::vector<at::Tensor>> all(1);
      for (int r = 0; r < W; ++r) all[0].push_back(torch::empty_like(payload[0]));
      pg_->allgather(all, payload)->wait();
      for (int r = 0; r < W; ++r) {
        auto b = all[0][r].cpu().contiguous();
        out.emplace_back(reinterpret_cast<const char*>(b.data_ptr<uint8_t>()), static_cast<size_t>(sizes[r]));
      }
    });
    return out;
  }

  void barrier() override {
    guarded("barrier", [&] { pg_->barrier()->wait(); });
  }

 private:
  // A contiguous tensor on the communication device (the tensor itself when it is one).
  at::Tensor to_comm(const at::Tensor& t) const {
    if (t.device() == comm_device_ && t.is_contiguous()) return t;
    return t.to(comm_device_).contiguous();
  }

  template <class F>
  void guarded(const char* what, F&& f) {
    auto fail = [&](const std::string& detail) {
      char timeout[32];
      std::snprintf(timeout, sizeof timeout, "%g", timeout_s_);
      return RuntimeError(std::string("distributed ") + what + " failed on rank " + std::to_string(rank()) + " of " +
                          std::to_string(world_size()) + " (a worker exited, or did not answer within " +
                          "runtime.dist_timeout_s = " + timeout + " s): " + first_line(detail));
    };
    try {
      f();
    } catch (const Error&) {
      throw;
    } catch (const c10::Error& e) {
      throw fail(e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw fail(e.what());
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
  torch::Device comm_device_;
  double timeout_s_;
};

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr == "::1" || addr.rfind("127.", 0) == 0;
}

// Tensors grouped into flat buckets of at most ~bucket_bytes, per dtype and device.
std::vector<std::vector<size_t>> make_buckets(const std::vector<torch::Tensor>& ts, int64_t bucket_bytes) {
  std::map<std::pair<int, std::string>, std::vector<std::vector<size_t>>> open;
  std::vector<std::vector<size_t>> done;
  std::map<std::pair<int, std::string>, int64_t> bytes;
  for (size_t i = 0; i < ts.size(); ++i) {
    const auto key = std::make_pair(static_cast<int>(ts[i].scalar_type()), ts[i].device().str());
    auto& list = open[key];
    const int64_t b = ts[i].numel() * static_cast<int64_t>(ts[i].element_size());
    if (list.empty() || (bytes[key] > 0 && bytes[key] + b > bucket_bytes)) {
      list.emplace_back();
      bytes[key] = 0;
    }
    list.back().push_back(i);
    bytes[key] += b;
  }
  for (auto& [key, list] : open)
    for (auto& bucket : list) done.push_back(std::move(bucket));
  return done;
}

}  // namespace

std::optional<DistributedEnv> read_distributed_env() {
  auto world = env("WORLD_SIZE");
  if (!world) return std::nullopt;
  DistributedEnv e;
  e.world_size = env_int("WORLD_SIZE", *world, 1, 1 << 20);
  if (e.world_size == 1) return std::nullopt;
  const std::string hint = " (WORLD_SIZE=" + *world +
                           " asks for distributed training; torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)";
  auto need = [&](const char* name) {
    auto v = env(name);
    if (!v || v->empty()) throw ConfigError(std::string("environment variable ") + name + " is not set" + hint);
    return *v;
  };
  e.rank = env_int("RANK", need("RANK"), 0, e.world_size - 1);
  e.master_addr = need("MASTER_ADDR");
  e.master_port = env_int("MASTER_PORT", need("MASTER_PORT"), 1, 65535);
  auto local = env("LOCAL_RANK");
  e.local_rank = local ? env_int("LOCAL_RANK", *local, 0, e.world_size - 1) : e.rank;
  auto local_world = env("LOCAL_WORLD_SIZE");
  e.local_world_size = local_world ? env_int("LOCAL_WORLD_SIZE", *local_world, 1, e.world_size) : e.world_size;
  return e;
}

DistributedSession::DistributedSession(const DistributedEnv& e, const DistributedOptions& options) {
  if (!(options.timeout_s > 0)) throw ConfigError("runtime.dist_timeout_s must be > 0");
  const auto timeout = to_ms(options.timeout_s);
  const std::string where = e.master_addr + ":" + std::to_string(e.master_port);
  char timeout_text[32];
  std::snprintf(timeout_text, sizeof timeout_text, "%g", options.timeout_s);
  auto join_error = [&](const std::string& detail) {
    return RuntimeError("rank " + std::to_string(e.rank) + " of " + std::to_string(e.world_size) +
                        ": could not join the process group at " + where + " within runtime.dist_timeout_s = " +
                        timeout_text + " s: " + first_line(detail));
  };
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(e.master_port);
    so.isServer = e.rank == 0;
    so.numWorkers = static_cast<size_t>(e.world_size);
    so.waitWorkers = true;
    so.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(e.master_addr, so);
    store->setTimeout(timeout);

    torch::Device device(options.device);
    c10::intrusive_ptr<c10d::ProcessGroup> pg;
    torch::Device comm_device = torch::kCPU;
    if (device.is_cuda()) {
#if SEER_TORCH_CUDA
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, e.rank, e.world_size, o);
      comm_device = device;
#else
      throw ConfigError("runtime.device: " + options.device + " needs a LibTorch built with CUDA");
#endif
    } else {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      // GLOO_SOCKET_IFNAME picks the interface, as in torch.distributed; a
      // loopback master means every worker is on this machine.
      if (auto ifname = env("GLOO_SOCKET_IFNAME"); ifname && !ifname->empty())
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*ifname));
      else if (is_loopback(e.master_addr))
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      o->threads = 2;
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, e.rank, e.world_size, o);
    }
    backend_ = std::make_shared<C10dBackend>(store, pg, comm_device, options.timeout_s);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& err) {
    throw join_error(err.what_without_backtrace());
  } catch (const std::exception& err) {
    throw join_error(err.what());
  }
  dist::set_backend(backend_);
  log().info("distributed: rank {} of {} (local rank {}) joined at {} ({})", e.rank, e.world_size, e.local_rank, where,
             torch::Device(options.device).is_cuda() ? "nccl" : "gloo");
}

DistributedSession::~DistributedSession() {
  if (dist::backend() == backend_) dist::set_backend(nullptr);
}

void broadcast_module_state(torch::nn::Module& module, int root) {
  if (!dist::distributed()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> ts;
  for (const auto& p : module.named_parameters(true)) ts.push_back(p.value());
  for (const auto& b : module.named_buffers(true)) ts.push_back(b.value());
  for (const auto& bucket : make_buckets(ts, 25 << 20)) {
    std::vector<torch::Tensor> flat;
    for (size_t i : bucket) flat.push_back(ts[i].reshape(-1));
    auto buf = torch::cat(flat);
    dist::broadcast_(buf, root);
    int64_t off = 0;
    for (size_t i : bucket) {
      const int64_t n = ts[i].numel();
      ts[i].copy_(buf.narrow(0, off, n).view_as(ts[i]));
      off += n;
    }
  }
}

void all_reduce_gradients(const std::vector<torch::Tensor>& params, int64_t bucket_bytes) {
  const int W = dist::world_size();
  if (W == 1 || params.empty()) return;
  torch::NoGradGuard no_grad;
  // Which parameters have a gradient on some rank (one small all-reduce), so
  // every rank builds the same buckets.
  auto has = torch::zeros({static_cast<int64_t>(params.size())}, torch::kInt32);
  auto has_a = has.accessor<int32_t, 1>();
  for (size_t i = 0; i < params.size(); ++i) has_a[i] = params[i].grad().defined() ? 1 : 0;
  dist::all_reduce_sum_(has);
  has_a = has.accessor<int32_t, 1>();
  std::vector<torch::Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    if (has_a[i] == 0) continue;
    auto p = params[i];
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  for (const auto& bucket : make_buckets(grads, bucket_bytes)) {
    std::vector<torch::Tensor> flat;
    for (size_t i : bucket) flat.push_back(grads[i].reshape(-1));
    auto buf = torch::cat(flat);  // [sum of numel]
    dist::all_reduce_sum_(buf);
    buf.div_(static_cast<double>(W));
    int64_t off = 0;
    for (size_t i : bucket) {
      const int64_t n = grads[i].numel();
      grads[i].copy_(buf.narrow(0, off, n).view_as(grads[i]));
      off += n;
    }
  }
}

}  // namespace seer
