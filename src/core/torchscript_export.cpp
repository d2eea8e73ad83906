// TorchScript export by tracing: the traced graph becomes method "forward" of
// a fresh torch::jit::Module, with the owner's weights as graph constants.
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include "core/checkpoint.h"
#include "core/error.h"

namespace seer {

namespace {
// Turns requires_grad off for every parameter and restores it on scope exit:
// the tracer can only embed tensors that do not require grad as constants.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& m) {
    for (auto& p : m.parameters()) {
      saved_.emplace_back(p, p.requires_grad());
      p.set_requires_grad(false);
    }
  }
  ~FrozenParameters() {
    for (auto& [p, rg] : saved_) p.set_requires_grad(rg);
  }

 private:
  std::vector<std::pair<torch::Tensor, bool>> saved_;
};

void detach_constants(torch::jit::Block* block) {
  for (torch::jit::Node* n : block->nodes()) {
    if (n->kind() == c10::prim::Constant && n->hasAttribute(c10::attr::value) &&
        n->kindOf(c10::attr::value) == torch::jit::AttributeKind::t)
      n->t_(c10::attr::value, n->t(c10::attr::value).detach());
    for (torch::jit::Block* b : n->blocks()) detach_constants(b);
  }
}
}  // namespace

void export_torchscript(torch::nn::Module& owner,
                        const std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>& fn,
                        const std::vector<torch::Tensor>& example_inputs, const std::vector<std::string>& input_names,
                        const std::string& path) {
  if (!input_names.empty() && input_names.size() != example_inputs.size())
    throw RuntimeError("export torchscript '" + path + "': " + std::to_string(input_names.size()) + " input names for " +
                       std::to_string(example_inputs.size()) + " inputs");
  std::shared_ptr<torch::jit::Graph> graph;
  {
    FrozenParameters frozen(owner);
    torch::jit::Stack inputs;
    for (const auto& t : example_inputs) inputs.emplace_back(t.detach());
    auto traced = [&](torch::jit::Stack in) -> torch::jit::Stack {
      std::vector<torch::Tensor> xs;
      for (auto& v : in) xs.push_back(v.toTensor());
      std::vector<torch::Tensor> ys = fn(xs);
      if (ys.size() == 1) return {ys[0]};
      std::vector<c10::IValue> items(ys.begin(), ys.end());
      return {c10::ivalue::Tuple::create(std::move(items))};
    };
    try {
      auto result = torch::jit::tracer::trace(std::move(inputs), traced, [](const torch::autograd::Variable&) { return std::string(); },
                                              /*strict=*/true, /*force_outplace=*/false, /*self=*/nullptr, input_names);
      graph = result.first->graph;
      // Constants hold the parameters themselves; detach them so that restoring
      // requires_grad below does not turn them into grad-requiring constants,
      // which TorchScript refuses to load.
      detach_constants(graph->block());
    } catch (const c10::Error& e) {
      std::string msg = e.what_without_backtrace();
      throw RuntimeError("export torchscript '" + path + "': tracing failed: " + msg.substr(0, msg.find('\n')));
    }
  }
  try {
    torch::jit::Module module(c10::QualifiedName("__torch__.seer.Exported"));
    torch::jit::Value* self = graph->insertInput(0, "self");
    self->setType(module._ivalue()->type());
    auto* method = module._ivalue()->compilation_unit()->create_function(
        c10::QualifiedName(*module.type()->name(), "forward"), graph);
    module.type()->addMethod(method);
    detail::write_atomically(path, [&](const std::string& tmp) { module.save(tmp); });
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw RuntimeError("export torchscript '" + path + "': " + msg.substr(0, msg.find('\n')));
  }
}

}  // namespace seer
