// seer: one binary, one subcommand per job (DESIGN.md §9).
#include <torch/torch.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "seer_build_info.h"

namespace seer::cli {

OptionSpec set_option() {
  return {"--set", OptionSpec::KeyValues, "KEY=VALUE", "override config keys (YAML-typed): --set a=1 b=2, repeatable"};
}

const std::vector<Command>& commands() {
  using O = OptionSpec;
  static const std::vector<Command> table = {
      {{"train", "Train a model from a YAML config; writes a run folder (config, logs, metrics, checkpoints).",
        {{"CONFIG", "YAML config file"}},
        {set_option(),
         {"--work-dir", O::Value, "DIR", "run folder (default runtime.work_dir/<config name>)"},
         {"--resume", O::OptionalValue, "CKPT", "resume from CKPT, or from the run folder's last checkpoint"},
         {"--nproc", O::Value, "N", "spawn N local data-parallel workers"}}},
       &run_train},
      {{"eval", "Evaluate a checkpoint on the config's validation split.",
        {{"[CONFIG]", "YAML config file (default: the config stored in a seer checkpoint given by --weights)"}},
        {set_option(),
         {"--weights", O::Value, "CKPT", "checkpoint: seer .pt, official .pth/.pt, or .safetensors", true},
         {"--out", O::Value, "FILE", "write metrics as JSON"}}},
       &run_eval},
      {{"predict", "Run a model on images and write detections (original-image pixels) as JSON.",
        {{"[CONFIG]", "YAML config file (default: the config stored in a seer checkpoint given by --weights)"}},
        {set_option(),
         {"--weights", O::Value, "CKPT", "checkpoint to load", true},
         {"--image", O::MultiValue, "PATH", "images to run on", true},
         {"--text", O::Value, "PROMPT", "text prompt for open-vocabulary and grounding models"},
         {"--out", O::Value, "FILE", "predictions JSON (default: stdout)"},
         {"--vis", O::Value, "DIR", "also draw the predictions into DIR"}}},
       &run_predict},
      {{"export", "Export a checkpoint as safetensors (official names), a .pth state_dict, or TorchScript.",
        {{"[CONFIG]", "YAML config file (default: the config stored in a seer checkpoint given by --weights)"}},
        {set_option(),
         {"--weights", O::Value, "CKPT", "checkpoint to export", true},
         {"--format", O::Value, "FMT", "safetensors | torchscript | pth", true},
         {"--image-size", O::Value, "HxW", "torchscript: the traced input size (default 800x800; sizes are fixed by tracing)"},
         {"--text", O::Value, "PROMPT",
          "torchscript of a text model: bake this prompt in (closed vocabulary; without it the module takes tokens)"},
         {"--out", O::Value, "FILE", "output file", true}}},
       &run_export},
      {{"coco-eval", "Evaluate a COCO results file against a COCO ground-truth file (pycocotools semantics).",
        {},
        {{"--gt", O::Value, "GT.json", "COCO instances ground truth", true},
         {"--dt", O::Value, "RESULTS.json", "COCO results (list of detections)", true},
         {"--iou-type", O::Value, "TYPE", "bbox (default) or segm"},
         {"--out", O::Value, "FILE", "write {stats, per_category} as JSON"}}},
       &run_coco_eval},
      {{"config", "Print the fully resolved config (bases merged, overrides applied, defaults filled in).",
        {{"CONFIG", "YAML config file"}},
        {set_option(), {"--keys", O::Flag, "", "list every key with its type, default and meaning instead"}}},
       &run_config},
      {{"tokenize", "Tokenize text with the BERT WordPiece or CLIP BPE tokenizer.",
        {},
        {{"--tokenizer", O::Value, "NAME", "bert | clip", true},
         {"--vocab", O::Value, "FILE", "vocab.txt (bert) or bpe_simple_vocab_16e6.txt.gz (clip)", true},
         {"--text", O::Value, "TEXT", "text to tokenize", true},
         {"--json", O::Flag, "", "print {ids, tokens, offsets} as JSON"}}},
       &run_tokenize},
      {{"browse-data", "Load a split through the data pipeline, draw samples with their targets, report images/s.",
        {{"CONFIG", "YAML config file"}},
        {set_option(),
         {"--split", O::Value, "SPLIT", "train (default) or val"},
         {"--num", O::Value, "N", "samples to load (default 16)"},
         {"--out", O::Value, "DIR", "write the drawn samples as JPEGs into DIR"},
         {"--raw", O::Flag, "", "write the images without drawing the targets (e.g. inputs for seer predict)"}}},
       &run_browse_data},
  };
  return table;
}

std::string main_help() {
  std::string s =
      "usage: seer <command> [options]\n\n"
      "seer trains, evaluates, runs and exports open-set perception models from YAML configs.\n\ncommands:\n";
  for (const auto& c : commands()) {
    const std::string& sm = c.spec.summary;
    size_t dot = sm.find(". ");
    std::string first = dot == std::string::npos ? sm : sm.substr(0, dot + 1);
    s += "  " + c.spec.name + std::string(14 - c.spec.name.size(), ' ') + first + "\n";
  }
  s += "\nRun 'seer <command> --help' for a command's options. Exit codes: 0 ok, 1 runtime error, 2 usage/config error.\n";
  return s;
}

int dispatch(int argc, char** argv) {
  std::vector<std::string> rest(argv + 1, argv + argc);
  if (rest.empty() || rest[0] == "--help" || rest[0] == "-h" || rest[0] == "help") {
    std::cout << main_help();
    return rest.empty() ? 2 : 0;
  }
  if (rest[0] == "--version" || rest[0] == "-V") {
    std::cout << "seer " << SEER_VERSION << " (LibTorch " << TORCH_VERSION << ")\n";
    return 0;
  }
  const std::string name = rest[0];
  rest.erase(rest.begin());
  for (const auto& c : commands()) {
    if (c.spec.name != name) continue;
    for (const auto& a : rest)
      if (a == "--help" || a == "-h") {
        std::cout << format_help(c.spec);
        return 0;
      }
    return c.run(parse_args(c.spec, rest));
  }
  std::vector<std::string> names;
  for (const auto& c : commands()) names.push_back(c.spec.name);
  std::string near = nearest(name, names);
  throw UsageError("unknown command '" + name + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                   "; see 'seer --help'");
}

}  // namespace seer::cli

int main(int argc, char** argv) {
  try {
    return seer::cli::dispatch(argc, argv);
  } catch (const seer::Error& e) {
    std::fprintf(stderr, "seer: error: %s\n", e.what());
    return e.exit_code();
  } catch (const c10::Error& e) {
    // LibTorch messages carry a C++ backtrace after the first line: keep the first.
    std::string msg = e.what_without_backtrace();
    std::fprintf(stderr, "seer: error: %s\n", msg.substr(0, msg.find('\n')).c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "seer: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seer: error: %s\n", e.what());
    return 1;
  }
}
