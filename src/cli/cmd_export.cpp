// seer export: a checkpoint as safetensors (official names), a .pth state_dict,
// or a traced TorchScript module of the model's tensor forward.
#include <regex>

#include "cli/commands.h"
#include "cli/setup.h"
#include "core/error.h"
#include "core/logging.h"
#include "seer_build_info.h"
#include "train/model_io.h"
#include "cli/resolve.h"

namespace seer::cli {

namespace {

std::pair<int64_t, int64_t> parse_image_size(const std::string& s) {
  std::smatch m;
  static const std::regex re("^([0-9]{1,5})x([0-9]{1,5})$");
  if (!std::regex_match(s, m, re)) throw UsageError("--image-size expects HxW, e.g. 800x800, got '" + s + "'");
  int64_t h = std::stoll(m[1]), w = std::stoll(m[2]);
  if (h < 32 || w < 32) throw UsageError("--image-size: both sides must be >= 32, got '" + s + "'");
  return {h, w};
}

}  // namespace

int run_export(const Args& args) {
  InferenceSetup setup = read_inference_setup(args);
  const ResolvedConfig& r = setup.config;
  if (!r.model) throw ConfigError(r.config.file() + ": the config has no model section");
  const std::string format = args.get("--format"), out = args.get("--out");
  if (format != "safetensors" && format != "pth" && format != "torchscript")
    throw UsageError("--format expects safetensors, pth or torchscript, got '" + format + "'");
  const auto [height, width] = parse_image_size(args.get("--image-size", "800x800"));

  if (args.has("--text") && format != "torchscript")
    throw UsageError("--text: only a torchscript export bakes a prompt (weights files hold no text)");
  if (args.has("--text") && !r.model->accepts_text)
    throw UsageError("--text: the '" + r.model_type + "' model takes no text prompt");
  CategoryTable categories = inference_categories(setup);
  auto model = build_model(r, categories);
  if (args.has("--text")) model->check_prompt(args.get("--text"));
  load_model_weights(*model, setup.weights(), setup.weights_path, r.model->strict_load);
  model->eval();

  if (format == "safetensors" || format == "pth") {
    int64_t dropped = 0;
    StateDict state = inference_state_dict(*model, &dropped);
    if (dropped > 0) {
      std::string which;
      for (const auto& p : model->training_only_prefixes()) which += (which.empty() ? "" : ", ") + p + "*";
      log().info("left out {} training-only tensors ({})", dropped, which);
    }
    if (format == "safetensors")
      write_safetensors(out, state,
                        {{"format", "pt"},
                         {"family", model->family()},
                         {"producer", std::string("seer ") + SEER_VERSION},
                         {"categories", categories_to_json(categories)}});
    else
      write_pth(out, state);
  } else {
    torch::NoGradGuard no_grad;
    if (args.has("--text")) model->set_export_prompt(args.get("--text"));
    Model* m = model.get();
    export_torchscript(
        *model, [m](const std::vector<torch::Tensor>& in) { return m->forward_tensors(in); },
        model->example_inputs(height, width), model->export_input_names(), out);
  }
  log().info("exported {} as {} to {}", args.get("--weights"), format, out);
  return 0;
}

}  // namespace seer::cli
