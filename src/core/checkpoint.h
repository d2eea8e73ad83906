#pragma once
// Checkpoint I/O: reading weights written by PyTorch (or by us), loading them
// into a module by name, and writing weights / TorchScript for other tools.
//
// Readers never execute anything a file names. PyTorch files are pickles; the
// safe unpickler in core/pickle.h turns them into a value tree and only a
// closed list of torch rebuild functions is interpreted as tensors. Everything
// else in a checkpoint (optimizer state, argparse.Namespace, epoch counters)
// is left as data and ignored.
//
// Formats (recognised by their first bytes, never by the file extension):
//   "zip"          torch.save since PyTorch 1.6: a zip with data.pkl + data/<key>
//   "legacy"       torch.save(..., _use_new_zipfile_serialization=False): back-to-back
//                  pickles followed by the raw storages
//   "safetensors"  u64 header length, JSON header, raw little-endian data
//
// Errors: a missing, truncated or corrupt file, or a tensor the reader does not
// understand, is a DataError whose one-line message names the file. Writing
// problems and strict-load mismatches are RuntimeErrors.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/types.h"

namespace seer {

// A str -> any dict, the pickled form of a Python dict that checkpoints are
// written as (torch::pickle_save).
inline c10::impl::GenericDict empty_ivalue_dict() {
  return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
}

using StateDict = torch::OrderedDict<std::string, torch::Tensor>;

struct WeightsFile {
  StateDict tensors;        // flat official names; a `module.` prefix shared by all keys is stripped
  std::string format;       // "zip" | "legacy" | "safetensors"
  std::string nested_key;   // where the tensors were found: "" (top level), "model", "state_dict", "ema", ...
  std::map<std::string, std::string> metadata;  // safetensors __metadata__; for pickles the str entries of a top-level "meta" dict
  std::string config_yaml;  // a seer checkpoint's resolved config (top-level "config"), else ""
  // The class table the weights were trained for, when the file carries one
  // (metadata "categories", written by seer checkpoints and exports).
  std::optional<CategoryTable> categories;
};

// A category table as the metadata string seer writes ({"ids": [...],
// "names": [...]} JSON) and back; the reader throws DataError naming `where`.
std::string categories_to_json(const CategoryTable& categories);
CategoryTable categories_from_json(const std::string& json, const std::string& where);

// Reads every tensor of a weights file (see the formats above). In a pickled
// checkpoint the tensors are taken from
//   1. top[prefer], when `prefer` is given and that entry is a dict of tensors,
//   2. else the first of "model", "state_dict", "model_state_dict", "module",
//      "ema", "model_ema", "state_dict_ema", "net", "network", "params", "weights"
//      that holds a dict of tensors (one more level is searched the same way,
//      e.g. {"ema": {"module": {...}}} gives nested_key "ema.module"),
//   3. else the top-level dict itself when it holds tensors,
//   4. else the first other entry that is a dict of tensors.
// Tensors keep PyTorch's layout: views that shared a storage in the file share
// one here, non-contiguous strides are kept.
WeightsFile read_weights(const std::string& path, const std::string& prefer = "");

struct ShapeMismatch {
  std::string name;
  std::vector<int64_t> file_shape, model_shape;
};

struct LoadReport {
  std::vector<std::string> loaded, missing, unexpected;
  std::vector<ShapeMismatch> mismatched;
  bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // "loaded 312 tensors; missing 0; unexpected 0; shape-mismatched 2 (class_embed.weight [92,256] vs [4,256], ...)"
  std::string summary() const;
};

// All parameters and buffers of `module` with their dotted names, in registration
// order (parameters then buffers of each module, then its children), like
// Python's state_dict(). The tensors alias the module's.
StateDict module_state_dict(const torch::nn::Module& module);

// Copies tensors into `module` by name under no_grad, converting dtype to the
// module's. File key k goes to module key prefix + k, and only module keys
// under `prefix` can be missing (e.g. prefix "backbone.0.body." loads a
// torchvision ResNet state_dict into a DETR backbone).
// strict: any missing, unexpected or shape-mismatched key throws RuntimeError
// naming `source` and the first offending keys; nothing is modified then.
// Not strict: copies what matches and reports the rest.
LoadReport load_state_dict(torch::nn::Module& module, const StateDict& sd, bool strict, const std::string& source,
                           const std::string& prefix = "");

// Writes (atomically: path + ".tmp", then rename) a safetensors file; tensors are
// stored contiguous, on the CPU, in insertion order.
void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes (atomically) a zip-format .pth that Python's torch.load reads as a
// plain dict name -> tensor in insertion order.
void write_pth(const std::string& path, const StateDict& tensors);

// Traces `fn` on `example_inputs` and saves it as method "forward" of a
// TorchScript module at `path` (atomically). The parameters of `owner` become
// constants of the graph (they are set requires_grad=false while tracing and
// restored afterwards). One output is returned as a tensor, several as a tuple.
// The file loads with torch::jit::load and Python's torch.jit.load.
void export_torchscript(torch::nn::Module& owner,
                        const std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>& fn,
                        const std::vector<torch::Tensor>& example_inputs, const std::vector<std::string>& input_names,
                        const std::string& path);

namespace detail {
// Atomic write helper shared by the writers: `produce` writes into the temporary
// path; on success it is renamed over `path`. I/O failures -> RuntimeError naming path.
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& produce);
// The three readers behind read_weights (the format is already known).
WeightsFile read_zip_checkpoint(const std::string& path, const std::string& prefer);
WeightsFile read_legacy_checkpoint(const std::string& path, const std::string& prefer);
WeightsFile read_safetensors(const std::string& path);
}  // namespace detail

}  // namespace seer
