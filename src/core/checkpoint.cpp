#include "core/checkpoint.h"

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/pickle.h"

namespace seer {

using pickle::PyRef;
using pickle::PyValue;

namespace {

// ------------------------------------------------------------------ storages

// One storage of the file. Its bytes are fetched only when a tensor of the
// chosen state dict needs them, so optimizer moments in a training checkpoint
// are never read.
struct StorageSlot {
  std::string key;
  c10::ScalarType dtype = c10::kFloat;
  int64_t numel = 0;      // elements
  size_t data_pos = 0;    // legacy: byte offset of the raw data in the file
  bool located = false;   // legacy: data_pos is known
  std::string unsupported;  // storage type we cannot read (e.g. torch.QInt8Storage); fatal only if used
  torch::Tensor data;     // [numel] once fetched
};

// What a persistent id resolves to: a storage, or (legacy) a view into one.
struct StorageRef {
  std::shared_ptr<StorageSlot> root;
  int64_t offset = 0;  // elements into root
  int64_t size = -1;   // elements, -1 = to the end of root
};

constexpr const char* kStorageNode = "__storage__";

// "torch.FloatStorage" (also torch.cuda.*) -> dtype; false for anything else.
bool storage_dtype(const std::string& global, c10::ScalarType& out) {
  static const std::unordered_map<std::string, c10::ScalarType> table = {
      {"FloatStorage", c10::kFloat},       {"DoubleStorage", c10::kDouble},
      {"HalfStorage", c10::kHalf},         {"BFloat16Storage", c10::kBFloat16},
      {"LongStorage", c10::kLong},         {"IntStorage", c10::kInt},
      {"ShortStorage", c10::kShort},       {"CharStorage", c10::kChar},
      {"ByteStorage", c10::kByte},         {"BoolStorage", c10::kBool},
      {"ComplexFloatStorage", c10::kComplexFloat}, {"ComplexDoubleStorage", c10::kComplexDouble},
      {"UntypedStorage", c10::kByte},
      // quantized: known only so that the legacy data walk has their element size
      {"QInt8Storage", c10::kQInt8}, {"QUInt8Storage", c10::kQUInt8}, {"QInt32Storage", c10::kQInt32},
  };
  std::string name = global;
  for (const char* prefix : {"torch.cuda.", "torch."})
    if (name.rfind(prefix, 0) == 0) {
      name = name.substr(std::strlen(prefix));
      break;
    }
  auto it = table.find(name);
  if (it == table.end()) return false;
  out = it->second;
  return true;
}

// The slot of a storage persistent id, created on first sight:
// ('storage', <torch.XStorage>, key, location, numel) in zip files, with a sixth
// item (view metadata) in legacy files.
std::shared_ptr<StorageSlot>& storage_slot(std::unordered_map<std::string, std::shared_ptr<StorageSlot>>& slots,
                                           const PyRef& pid, size_t arity, const std::string& path) {
  if (!pid->is_tuple() || pid->items.size() != arity || !pid->items[0]->is_str() || pid->items[0]->str != "storage" ||
      pid->items[1]->kind != PyValue::Kind::Global || !pid->items[2]->is_str() ||
      pid->items[4]->kind != PyValue::Kind::Int)
    throw DataError("weights file '" + path + "': unsupported persistent id " + pid->repr(2));
  auto& slot = slots[pid->items[2]->str];
  if (!slot) {
    slot = std::make_shared<StorageSlot>();
    slot->key = pid->items[2]->str;
    c10::ScalarType dt = c10::kByte;
    if (!storage_dtype(pid->items[1]->name, dt)) slot->unsupported = pid->items[1]->name;
    slot->dtype = dt;
    slot->numel = pid->items[4]->i;
    if (slot->numel < 0) throw DataError("weights file '" + path + "': negative storage size");
  }
  return slot;
}

PyRef storage_node(std::shared_ptr<StorageRef> ref) {
  auto o = std::make_shared<PyValue>();
  o->kind = PyValue::Kind::Object;
  o->name = kStorageNode;
  o->payload = std::move(ref);
  return o;
}

// torch::pickle_save (TorchScript's pickler) wraps typed containers in
// torch.jit._pickle.restore_type_tag(value, "Dict[str, Tensor]"): only a type annotation.
PyRef unwrap(const PyRef& v) {
  PyRef cur = v;
  for (int k = 0; k < 4 && cur && cur->kind == PyValue::Kind::Object && cur->name == "torch.jit._pickle.restore_type_tag" &&
                  cur->args && cur->args->is_tuple() && !cur->args->items.empty();
       ++k)
    cur = cur->args->items[0];
  return cur;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k) out += (k ? "," : "") + std::to_string(s[k]);
  return out + "]";
}

// ------------------------------------------------------------------ pickle -> tensors

// Interprets the value tree of a torch pickle: finds the state dict and turns
// the closed set of torch rebuild calls in it into tensors.
class TensorBuilder {
 public:
  using Fetch = std::function<torch::Tensor(StorageSlot&)>;  // -> [numel] of slot.dtype
  TensorBuilder(std::string path, Fetch fetch) : path_(std::move(path)), fetch_(std::move(fetch)) {}

  // A value a tensor would be built from (a rebuild call), or a storage argument.
  static bool tensor_like(const PyRef& v) {
    if (!v || v->kind != PyValue::Kind::Object) return false;
    if (v->name.find("_rebuild") != std::string::npos && v->name.rfind("torch.", 0) == 0) return true;
    if (v->args && v->args->is_tuple() && !v->args->items.empty()) {
      const PyRef& a0 = v->args->items[0];
      if (a0 && a0->kind == PyValue::Kind::Object && a0->name == kStorageNode) return true;
    }
    return false;
  }

  static bool holds_tensors(const PyRef& d0) {
    PyRef d = unwrap(d0);
    if (!d || !d->is_dict()) return false;
    for (const auto& kv : d->entries)
      if (tensor_like(kv.second)) return true;
    return false;
  }

  torch::Tensor tensor(const PyRef& v, const std::string& key, int depth = 0) {
    if (depth > 4) fail(key, "tensor rebuild calls nested too deeply");
    const std::string& g = v->name;
    const auto& a = v->args && v->args->is_tuple() ? v->args->items : empty_;
    if (g == "torch._utils._rebuild_tensor" || g == "torch._utils._rebuild_tensor_v2") {
      size_t want = g == "torch._utils._rebuild_tensor" ? 4 : 6;
      if (a.size() < want) fail(key, g + " with " + std::to_string(a.size()) + " arguments");
      return from_storage(a[0], a[1], a[2], a[3], key);
    }
    if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || !tensor_like(a[0])) fail(key, g + " without a tensor argument");
      return tensor(a[0], key, depth + 1);
    }
    if (g == "torch._tensor._rebuild_from_type_v2" || g == "torch._tensor._rebuild_from_type") {
      // (func, type, args, state): a tensor subclass; the data is func(*args)
      if (a.size() < 3 || a[0]->kind != PyValue::Kind::Global || !a[2]->is_tuple())
        fail(key, g + " with unexpected arguments");
      auto inner = std::make_shared<PyValue>();
      inner->kind = PyValue::Kind::Object;
      inner->name = a[0]->name;
      inner->args = a[2];
      return tensor(inner, key, depth + 1);
    }
    fail(key, "unsupported tensor constructor '" + g + "'");
  }

  // Chooses the state dict (see read_weights) and converts it.
  void select(const PyRef& root0, const std::string& prefer, WeightsFile& out) {
    PyRef root = unwrap(root0);
    if (!root->is_dict())
      throw DataError("weights file '" + path_ + "': top level is a " + root->type_name() +
                      ", not a dict (whole pickled models are not supported; save model.state_dict())");
    if (auto meta = unwrap(root->get("meta")); meta && meta->is_dict())
      for (const auto& kv : meta->entries)
        if (kv.first->is_str() && kv.second->is_str()) out.metadata[kv.first->str] = kv.second->str;
    if (auto config = unwrap(root->get("config")); config && config->is_str()) out.config_yaml = config->str;

    PyRef chosen;
    if (PyRef p = prefer.empty() ? nullptr : root->get(prefer); p && holds_tensors(p)) {
      chosen = unwrap(p);
      out.nested_key = prefer;
    } else if (!find(root, 0, "", chosen, out.nested_key)) {
      throw DataError("weights file '" + path_ + "': no dict of tensors found (top-level keys: " + keys_of(root) + ")");
    }
    convert(chosen, out.nested_key, out.tensors);
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw DataError("weights file '" + path_ + "': tensor '" + key + "': " + what);
  }

  static std::string keys_of(const PyRef& d) {
    std::string s;
    size_t n = 0;
    for (const auto& kv : d->entries) {
      if (n++ == 8) return s + ", ...";
      s += (s.empty() ? "" : ", ") + kv.first->repr(1);
    }
    return s.empty() ? "none" : s;
  }

  static bool find(const PyRef& d, int depth, const std::string& path, PyRef& chosen, std::string& where) {
    static const char* kNames[] = {"model", "state_dict", "model_state_dict", "module", "ema", "model_ema",
                                   "state_dict_ema", "net", "network", "params", "weights"};
    auto join = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
    for (const char* name : kNames) {
      PyRef v = unwrap(d->get(name));
      if (!v || !v->is_dict()) continue;
      if (holds_tensors(v)) {
        chosen = v;
        where = join(name);
        return true;
      }
      if (depth == 0 && find(v, depth + 1, join(name), chosen, where)) return true;
    }
    if (holds_tensors(d)) {
      chosen = d;
      where = path;
      return true;
    }
    for (const auto& kv : d->entries)
      if (kv.first->is_str() && holds_tensors(kv.second)) {
        chosen = unwrap(kv.second);
        where = join(kv.first->str);
        return true;
      }
    return false;
  }

  void convert(const PyRef& d, const std::string& where, StateDict& out) {
    std::vector<std::pair<std::string, torch::Tensor>> items;
    for (const auto& kv : d->entries) {
      if (!kv.first->is_str())
        throw DataError("weights file '" + path_ + "': key " + kv.first->repr(2) + " in '" + where +
                        "' is not a string");
      const std::string& key = kv.first->str;
      const PyRef& v = kv.second;
      if (tensor_like(v)) {
        items.emplace_back(key, tensor(v, key));
      } else if (v->kind == PyValue::Kind::Object || v->kind == PyValue::Kind::Global) {
        // Never executed; but a class where a tensor should be is not a state dict we understand.
        fail(key, "unsupported global '" + v->name + "' where a tensor was expected");
      }
      // plain data next to the tensors (numbers, strings, None) is not a weight: skipped
    }
    bool all_module = !items.empty();
    for (const auto& it : items) all_module = all_module && it.first.rfind("module.", 0) == 0;
    for (auto& it : items) {
      std::string k = all_module ? it.first.substr(7) : it.first;
      if (out.contains(k)) throw DataError("weights file '" + path_ + "': duplicate key '" + k + "'");
      out.insert(k, it.second);
    }
  }

  static bool int_list(const PyRef& v, std::vector<int64_t>& out) {
    PyRef seq = v;
    if (seq && seq->kind == PyValue::Kind::Object && seq->name == "torch.Size" && seq->args &&
        seq->args->items.size() == 1)
      seq = seq->args->items[0];
    if (!seq || !seq->is_sequence()) return false;
    out.clear();
    for (const auto& x : seq->items) {
      if (!x || x->kind != PyValue::Kind::Int) return false;
      out.push_back(x->i);
    }
    return true;
  }

  torch::Tensor from_storage(const PyRef& storage, const PyRef& offset_v, const PyRef& size_v,
                             const PyRef& stride_v, const std::string& key) {
    if (storage->kind != PyValue::Kind::Object || storage->name != kStorageNode)
      fail(key, "storage argument is " + storage->repr(2) + ", not a storage");
    auto ref = std::static_pointer_cast<StorageRef>(storage->payload);
    if (!ref->root->unsupported.empty()) fail(key, "unsupported storage type '" + ref->root->unsupported + "'");
    if (c10::isQIntType(ref->root->dtype)) fail(key, "quantized tensors are not supported");
    std::vector<int64_t> size, stride;
    if (!int_list(size_v, size) || !int_list(stride_v, stride) || size.size() != stride.size() ||
        offset_v->kind != PyValue::Kind::Int)
      fail(key, "bad size/stride/offset " + size_v->repr(2) + " " + stride_v->repr(2) + " " + offset_v->repr(1));
    int64_t root_numel = ref->root->numel;
    int64_t view_size = ref->size < 0 ? root_numel - ref->offset : ref->size;
    if (ref->offset < 0 || view_size < 0 || ref->offset + view_size > root_numel)
      fail(key, "storage view outside its storage");
    // Elements the tensor touches must lie inside the (view of the) storage.
    __int128 last = offset_v->i, numel = 1;
    for (size_t k = 0; k < size.size(); ++k) {
      if (size[k] < 0 || stride[k] < 0) fail(key, "negative size or stride");
      numel *= size[k];
      if (size[k] > 0) last += static_cast<__int128>(size[k] - 1) * stride[k];
    }
    if (offset_v->i < 0 || (numel > 0 && last >= view_size))
      fail(key, "shape " + shape_str(size) + " stride " + shape_str(stride) + " offset " +
                    std::to_string(offset_v->i) + " exceeds its storage of " + std::to_string(view_size) +
                    " elements (corrupt file?)");
    torch::Tensor base = storage_data(*ref->root);
    return base.as_strided(size, stride, ref->offset + offset_v->i);
  }

  torch::Tensor storage_data(StorageSlot& slot) {
    if (!slot.data.defined()) {
      slot.data = fetch_(slot);
      if (!slot.data.defined() || slot.data.numel() != slot.numel || slot.data.scalar_type() != slot.dtype)
        throw DataError("weights file '" + path_ + "': storage '" + slot.key + "' could not be read");
    }
    return slot.data;
  }

  std::string path_;
  Fetch fetch_;
  std::vector<PyRef> empty_;
};

// ------------------------------------------------------------------ zip

}  // namespace

namespace detail {

WeightsFile read_zip_checkpoint(const std::string& path, const std::string& prefer) {
  WeightsFile out;
  out.format = "zip";
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  std::error_code ec;
  const int64_t file_size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  if (ec) throw DataError("weights file '" + path + "': cannot stat (" + ec.message() + ")");
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw DataError("weights file '" + path + "': not a readable PyTorch zip archive (" +
                    first_line(e.what_without_backtrace()) + ")");
  }
  try {
    if (reader->hasRecord("constants.pkl") && !reader->hasRecord("data.pkl"))
      throw DataError("weights file '" + path + "': a TorchScript archive, not a torch.save checkpoint");
    if (!reader->hasRecord("data.pkl"))
      throw DataError("weights file '" + path + "': zip archive without data.pkl (not written by torch.save)");
    auto [pkl, pkl_size] = reader->getRecord("data.pkl");

    std::unordered_map<std::string, std::shared_ptr<StorageSlot>> slots;
    pickle::UnpicklerOptions opt;
    opt.source = "data.pkl";
    opt.persistent_load = [&](const PyRef& pid) -> PyRef {
      // ('storage', <torch.XStorage>, key, location, numel)
      auto& slot = storage_slot(slots, pid, 5, path);
      auto ref = std::make_shared<StorageRef>();
      ref->root = slot;
      return storage_node(ref);
    };
    PyRef root;
    try {
      root = pickle::loads(std::string(static_cast<const char*>(pkl.get()), pkl_size), opt);
    } catch (const DataError&) {
      throw;
    } catch (const Error& e) {
      throw DataError("weights file '" + path + "': " + e.what());
    }

    TensorBuilder builder(path, [&](StorageSlot& slot) -> torch::Tensor {
      auto opts = torch::TensorOptions().dtype(slot.dtype);
      if (slot.numel == 0) return torch::empty({0}, opts);
      std::string rec = "data/" + slot.key;
      if (!reader->hasRecord(rec)) throw DataError("weights file '" + path + "': missing record '" + rec + "'");
      size_t need = static_cast<size_t>(slot.numel) * c10::elementSize(slot.dtype);
      if (slot.numel > file_size || need > static_cast<size_t>(file_size))  // also guards the allocation below
        throw DataError("weights file '" + path + "': storage '" + slot.key + "' claims " + std::to_string(slot.numel) +
                        " elements, more than the file holds");
      auto [ptr, n] = reader->getRecord(rec);
      if (n < need)
        throw DataError("weights file '" + path + "': record '" + rec + "' has " + std::to_string(n) +
                        " bytes, needs " + std::to_string(need));
      // Zero copy: the tensor owns the record buffer (CPU allocator, aligned).
      auto holder = std::make_shared<at::DataPtr>(std::move(ptr));
      void* raw = holder->get();
      return torch::from_blob(raw, {slot.numel}, [holder](void*) mutable { holder.reset(); }, opts);
    });
    builder.select(root, prefer, out);
  } catch (const c10::Error& e) {
    throw DataError("weights file '" + path + "': " + first_line(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    throw DataError("weights file '" + path + "': a record claims more memory than available (corrupt file?)");
  }
  return out;
}

// ------------------------------------------------------------------ legacy

namespace {
// A read-only memory map of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw DataError("weights file '" + path + "': cannot open (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size == 0) {
      ::close(fd);
      throw DataError("weights file '" + path + "': empty or unreadable file");
    }
    size_ = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) throw DataError("weights file '" + path + "': cannot map (" + std::strerror(errno) + ")");
    data_ = static_cast<const uint8_t*>(p);
  }
  ~MappedFile() { ::munmap(const_cast<uint8_t*>(data_), size_); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// torch.serialization.MAGIC_NUMBER = 0x1950a86a20f9469cfc6c, as LONG1 little-endian bytes
const uint8_t kLegacyMagic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
}  // namespace

WeightsFile read_legacy_checkpoint(const std::string& path, const std::string& prefer) {
  WeightsFile out;
  out.format = "legacy";
  auto file = std::make_shared<MappedFile>(path);
  auto bad = [&](const std::string& what) { return DataError("weights file '" + path + "': " + what); };

  std::unordered_map<std::string, std::shared_ptr<StorageSlot>> slots;
  std::unordered_map<std::string, std::shared_ptr<StorageRef>> views;
  pickle::UnpicklerOptions opt;
  opt.source = "stream";
  opt.persistent_load = [&](const PyRef& pid) -> PyRef {
    // ('storage', <torch.XStorage>, root_key, location, numel, view_metadata)
    // or ('module', <class>, source_file, source) for whole pickled modules.
    if (pid->is_tuple() && !pid->items.empty() && pid->items[0]->is_str() && pid->items[0]->str == "module") {
      auto o = std::make_shared<PyValue>();
      o->kind = PyValue::Kind::Object;
      o->name = pid->items.size() > 1 && pid->items[1]->kind == PyValue::Kind::Global ? pid->items[1]->name : "module";
      return o;  // a class reference; never used as a tensor
    }
    auto& slot = storage_slot(slots, pid, 6, path);
    const PyRef& view = pid->items[5];
    if (view->is_none()) {
      auto ref = std::make_shared<StorageRef>();
      ref->root = slot;
      return storage_node(ref);
    }
    // (view_key, offset, size) in elements of the root storage
    if (!view->is_tuple() || view->items.size() != 3 || !view->items[0]->is_str() || !view->items[1]->is_int() ||
        !view->items[2]->is_int())
      throw bad("bad storage view " + view->repr(2));
    auto& ref = views[view->items[0]->str];
    if (!ref) {
      ref = std::make_shared<StorageRef>();
      ref->root = slot;
      ref->offset = view->items[1]->i;
      ref->size = view->items[2]->i;
    }
    return storage_node(ref);
  };

  PyRef root;
  size_t pos = 0;
  try {
    pickle::Unpickler u(file->data(), file->size(), opt);
    PyRef magic = u.load();
    if (magic->kind != PyValue::Kind::BigInt || magic->str.size() != sizeof(kLegacyMagic) ||
        std::memcmp(magic->str.data(), kLegacyMagic, sizeof(kLegacyMagic)) != 0)
      throw bad("not a PyTorch legacy checkpoint (wrong magic number)");
    PyRef proto = u.load();
    if (!proto->is_int() || proto->i != 1001) throw bad("unsupported legacy protocol version " + proto->repr(1));
    PyRef sys_info = u.load();
    if (PyRef le = sys_info->is_dict() ? sys_info->get("little_endian") : nullptr; le && le->is_int() && !le->as_bool())
      throw bad("written on a big-endian machine (not supported)");
    root = u.load();
    PyRef keys = u.load();
    if (!keys->is_sequence()) throw bad("storage key list is a " + keys->type_name());
    pos = u.offset();
    // Raw storages, in the order of `keys`: int64 element count, then the bytes.
    for (const auto& k : keys->items) {
      if (!k->is_str()) throw bad("storage key " + k->repr(1) + " is not a string");
      auto it = slots.find(k->str);
      if (it == slots.end()) throw bad("storage '" + k->str + "' is stored but never referenced");
      StorageSlot& slot = *it->second;
      if (file->size() - pos < 8) throw bad("truncated in the header of storage '" + k->str + "'");
      int64_t count = 0;
      std::memcpy(&count, file->data() + pos, 8);  // little-endian host assumed (x86/ARM)
      pos += 8;
      size_t es = c10::elementSize(slot.dtype);
      if (count < 0 || static_cast<uint64_t>(count) > (file->size() - pos) / es)
        throw bad("truncated in the data of storage '" + k->str + "' (" + std::to_string(count) + " elements)");
      slot.numel = count;
      slot.data_pos = pos;
      slot.located = true;
      pos += static_cast<size_t>(count) * es;
    }
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {
    throw bad(e.what());
  }

  TensorBuilder builder(path, [&](StorageSlot& slot) -> torch::Tensor {
    if (!slot.located) throw bad("storage '" + slot.key + "' has no data in the file");
    auto t = torch::empty({slot.numel}, torch::TensorOptions().dtype(slot.dtype));
    std::memcpy(t.data_ptr(), file->data() + slot.data_pos, static_cast<size_t>(slot.numel) * t.element_size());
    return t;
  });
  try {
    builder.select(root, prefer, out);
  } catch (const c10::Error& e) {
    throw bad(first_line(e.what_without_backtrace()));
  }
  return out;
}

}  // namespace detail

// ------------------------------------------------------------------ dispatch

std::string categories_to_json(const CategoryTable& c) {
  return nlohmann::json{{"ids", c.ids}, {"names", c.names}}.dump();
}

CategoryTable categories_from_json(const std::string& text, const std::string& where) {
  CategoryTable t;
  try {
    auto j = nlohmann::json::parse(text);
    const auto ids = j.at("ids").get<std::vector<int64_t>>();
    const auto names = j.at("names").get<std::vector<std::string>>();
    if (ids.size() != names.size()) throw DataError(where + ": category table has " + std::to_string(ids.size()) +
                                                    " ids but " + std::to_string(names.size()) + " names");
    for (size_t i = 0; i < ids.size(); ++i) t.add(ids[i], names[i]);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(where + ": unreadable category table (" + std::string(e.what()) + ")");
  }
  return t;
}

namespace {
WeightsFile read_weights_file(const std::string& path, const std::string& prefer);
}  // namespace

WeightsFile read_weights(const std::string& path, const std::string& prefer) {
  WeightsFile w = read_weights_file(path, prefer);
  auto it = w.metadata.find("categories");
  if (it != w.metadata.end()) w.categories = categories_from_json(it->second, "weights file '" + path + "'");
  return w;
}

namespace {
WeightsFile read_weights_file(const std::string& path, const std::string& prefer) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw DataError("weights file '" + path + "': no such file");
  if (!std::filesystem::is_regular_file(path, ec)) throw DataError("weights file '" + path + "': not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("weights file '" + path + "': cannot open");
  char head[512] = {};
  in.read(head, sizeof(head));
  size_t n = static_cast<size_t>(in.gcount());
  if (n == 0) throw DataError("weights file '" + path + "': empty file");
  auto u = [&](size_t k) { return static_cast<uint8_t>(head[k]); };
  if (n >= 4 && head[0] == 'P' && head[1] == 'K' && u(2) < 0x10 && u(3) < 0x10) return detail::read_zip_checkpoint(path, prefer);
  // safetensors before legacy: its first byte is the low byte of the header
  // length, 0x80 (a pickle's PROTO) for one header length in 32 (lengths are
  // multiples of 8). A legacy file has a byte of its magic number at offset 8.
  if (n >= 9 && head[8] == '{') {
    uint64_t len = 0;
    for (int k = 7; k >= 0; --k) len = (len << 8) | u(static_cast<size_t>(k));
    const auto size = std::filesystem::file_size(path, ec);
    if (u(0) != 0x80 || (!ec && len <= size - 8)) return detail::read_safetensors(path);
  }
  if (u(0) == 0x80) return detail::read_legacy_checkpoint(path, prefer);
  if (n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0)
    throw DataError("weights file '" + path + "': tar-format checkpoint (PyTorch < 0.4) is not supported");
  char hex[16];
  std::snprintf(hex, sizeof(hex), "%02x %02x %02x %02x", u(0), n > 1 ? u(1) : 0, n > 2 ? u(2) : 0, n > 3 ? u(3) : 0);
  throw DataError("weights file '" + path + "': not a PyTorch (zip or legacy) or safetensors file (starts with " +
                  hex + ")");
}

}  // namespace

}  // namespace seer
