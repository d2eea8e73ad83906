#pragma once
// A safe reader of Python pickles (protocols 0-5).
//
// Python's own unpickler imports modules and calls whatever a pickle names;
// this one never executes anything. It turns the opcode stream into a tree of
// PyValue nodes: builtin types become their natural node (None, bool, int,
// float, str, bytes, list, tuple, dict, set), and everything else a pickle
// would construct (GLOBAL + REDUCE / NEWOBJ / BUILD) becomes an Object node
// that records the global's "module.name", its arguments and its state.
// Interpreting those objects is the caller's job (e.g. the checkpoint reader
// maps torch._utils._rebuild_tensor_v2 to a tensor).
//
// A few reductions CPython emits for builtin types at low protocols are folded
// back into plain nodes, because they are data, not behaviour:
// collections.OrderedDict (-> Dict), builtins.set / frozenset (-> Set),
// _codecs.encode(str, 'latin1') and builtins.bytes / bytearray (-> Bytes),
// copyreg._reconstructor (-> Object of the named class).
//
// Values have reference semantics (shared_ptr) because a pickle's memo lets
// several places refer to one object, which may be filled after it is shared.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace seer::pickle {

class PyValue;
using PyRef = std::shared_ptr<PyValue>;

class PyValue {
 public:
  enum class Kind {
    None,
    Bool,
    Int,     // fits int64
    BigInt,  // wider than int64: `str` holds the little-endian two's complement bytes
    Float,
    Str,     // UTF-8
    Bytes,
    List,
    Tuple,
    Dict,    // insertion ordered; also collections.OrderedDict (see type_name)
    Set,     // set and frozenset (see type_name)
    Global,  // a class or function reference not yet applied: name = "module.name"
    Object,  // an instance built from a global: name, args, kwargs, state
  };

  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string str;                 // Str, Bytes, BigInt payload
  std::vector<PyRef> items;        // List, Tuple, Set
  std::vector<std::pair<PyRef, PyRef>> entries;  // Dict, in insertion order
  std::string name;                // Global / Object: "module.name"; Dict/Set: python type name
  PyRef args;                      // Object: REDUCE / NEWOBJ arguments (a Tuple), may be null
  PyRef kwargs;                    // Object: NEWOBJ_EX keyword arguments (a Dict), may be null
  PyRef state;                     // Object / Dict: BUILD state, null when never built
  std::vector<PyRef> appended;     // Object: items APPEND(S)/SETITEM(S) added to a non-builtin
  // Free slot for readers built on top (e.g. a tensor storage behind a persistent id).
  std::shared_ptr<void> payload;

  // ---- construction
  static PyRef none();
  static PyRef boolean(bool v);
  static PyRef integer(int64_t v);
  static PyRef floating(double v);
  static PyRef string(std::string v);
  static PyRef bytes(std::string v);
  static PyRef list(std::vector<PyRef> v = {});
  static PyRef tuple(std::vector<PyRef> v = {});
  static PyRef dict();
  static PyRef set(std::vector<PyRef> v = {});
  static PyRef global(std::string module_dot_name);

  // ---- inspection
  bool is_none() const { return kind == Kind::None; }
  bool is_int() const { return kind == Kind::Int || kind == Kind::Bool; }
  bool is_number() const { return is_int() || kind == Kind::Float; }
  bool is_str() const { return kind == Kind::Str; }
  bool is_list() const { return kind == Kind::List; }
  bool is_tuple() const { return kind == Kind::Tuple; }
  bool is_sequence() const { return kind == Kind::List || kind == Kind::Tuple; }
  bool is_dict() const { return kind == Kind::Dict; }
  bool is_object() const { return kind == Kind::Object; }
  // Python's type name ("int", "dict", "collections.OrderedDict", "argparse.Namespace", ...).
  std::string type_name() const;

  // Checked accessors: a wrong kind throws RuntimeError naming both kinds.
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;  // int or float
  const std::string& as_str() const;
  const std::string& as_bytes() const;
  const std::vector<PyRef>& as_items() const;  // List, Tuple or Set

  // Dict lookup by key; nullptr when absent (or when this is not a Dict).
  PyRef get(const std::string& key) const;
  PyRef get(int64_t key) const;
  // Dict lookup that throws RuntimeError naming the key when absent.
  const PyRef& at(const std::string& key) const;
  bool contains(const std::string& key) const { return get(key) != nullptr; }
  // Set or replace a dict entry, keeping first-insertion order as Python does.
  void set_item(PyRef key, PyRef value);
  size_t size() const;  // items or entries

  // A short Python-like rendering, for messages and tests.
  std::string repr(int max_depth = 6) const;

 private:
  std::unordered_map<std::string, size_t> index_;  // hash key -> position in entries
};

const char* kind_name(PyValue::Kind k);

// Called for PERSID / BINPERSID with the persistent id (a Str for PERSID, any
// value for BINPERSID); returns what the pickle refers to. torch checkpoints use
// tuples ('storage', <Global torch.FloatStorage>, key, location, numel).
using PersistentLoad = std::function<PyRef(const PyRef& pid)>;

struct UnpicklerOptions {
  // Without a hook, a persistent id becomes an Object named "__persistent_id__"
  // whose args are the pid.
  PersistentLoad persistent_load;
  // Name used in error messages (usually the file path).
  std::string source = "<pickle>";
};

// Reads one or several consecutive pickles from a byte buffer (the legacy torch
// format stores several back to back, followed by raw storage bytes).
class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, UnpicklerOptions options = {});
  // Read the pickle starting at offset(); throws RuntimeError naming the opcode
  // and byte offset on truncated or malformed input or an unsupported opcode.
  PyRef load();
  // Byte offset just after the last STOP read (where the next pickle starts).
  size_t offset() const { return pos_; }
  void seek(size_t pos) { pos_ = pos; }

 private:
  [[noreturn]] void fail(const std::string& msg) const;
  const uint8_t* take(size_t n);
  uint8_t u8();
  uint64_t le(size_t n);
  std::string line();
  PyRef pop();
  PyRef& top();
  std::vector<PyRef> pop_mark();
  PyRef reduce(const PyRef& callable, const PyRef& args);
  void build(const PyRef& obj, const PyRef& state);
  void append_items(const PyRef& target, std::vector<PyRef> items);
  void set_items(const PyRef& target, std::vector<PyRef> kv);

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  UnpicklerOptions options_;
  // the opcode being executed, for messages
  uint8_t op_ = 0;
  size_t op_pos_ = 0;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
};

// Convenience: one pickle from a buffer / a file (the whole file must be one pickle).
PyRef loads(const std::string& bytes, const UnpicklerOptions& options = {});
PyRef load_file(const std::string& path, UnpicklerOptions options = {});

// Name of an opcode ("BINPUT"), or "" when the byte is not a pickle opcode.
const char* opcode_name(uint8_t op);

}  // namespace seer::pickle
