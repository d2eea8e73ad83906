#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace fs = std::filesystem;

namespace seer {

// ---------------------------------------------------------------- paths
namespace {

// One step of a path: a map key or a list index.
struct Step {
  std::string key;
  long index = -1;  // >= 0 for a list index
};

std::vector<Step> parse_path(const std::string& dotted) {
  std::vector<Step> steps;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    bool numeric = std::all_of(cur.begin(), cur.end(), ::isdigit);
    if (numeric && !steps.empty()) steps.push_back({"", std::stol(cur)});
    else steps.push_back({cur, -1});
    cur.clear();
  };
  for (size_t i = 0; i < dotted.size(); ++i) {
    char c = dotted[i];
    if (c == '.') {
      flush();
    } else if (c == '[') {
      flush();
      size_t close = dotted.find(']', i);
      if (close == std::string::npos) throw ConfigError("bad key path '" + dotted + "'");
      steps.push_back({"", std::stol(dotted.substr(i + 1, close - i - 1))});
      i = close;
    } else {
      cur += c;
    }
  }
  flush();
  return steps;
}

std::string join(const std::string& prefix, const std::string& key) {
  if (prefix.empty()) return key;
  if (key.empty()) return prefix;
  return prefix + "." + key;
}

// "a.list[3].b" -> "a.list[].b": the form keys are declared under.
std::string normalise(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      out += "[]";
      i = close;
    } else {
      out += path[i];
    }
  }
  return out;
}

std::string parent_of(const std::string& norm) {
  size_t dot = norm.rfind('.');
  return dot == std::string::npos ? "" : norm.substr(0, dot);
}

std::string leaf_of(const std::string& norm) {
  size_t dot = norm.rfind('.');
  return dot == std::string::npos ? norm : norm.substr(dot + 1);
}

}  // namespace

// ---------------------------------------------------------------- impl
struct ConfigImpl {
  YAML::Node tree = YAML::Node(YAML::NodeType::Map);
  std::string file;
  std::map<std::string, std::string> origins;  // concrete path -> file or "--set"
  std::map<std::string, KeyDoc> declared;      // normalised path -> doc

  // Node at a concrete path, or an undefined node when absent.
  YAML::Node find(const std::string& dotted) const {
    // const access: a non-const operator[] may insert the key it looks up
    YAML::Node cur;
    cur.reset(tree);
    for (const Step& s : parse_path(dotted)) {
      const YAML::Node& c = cur;
      if (s.index >= 0) {
        if (!c.IsSequence() || s.index >= static_cast<long>(c.size())) return YAML::Node();
        YAML::Node next = c[s.index];
        cur.reset(next);
      } else {
        if (!c.IsMap()) return YAML::Node();
        YAML::Node next = c[s.key];
        if (!next.IsDefined()) return YAML::Node();
        cur.reset(next);
      }
    }
    return cur;
  }

  // Set a concrete path, creating maps on the way.
  void set(const std::string& dotted, const YAML::Node& value, const std::string& where) {
    std::vector<Step> steps = parse_path(dotted);
    if (steps.empty()) throw ConfigError(where + ": empty key");
    YAML::Node cur;
    cur.reset(tree);
    std::string walked;
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& s = steps[i];
      bool last = i + 1 == steps.size();
      if (s.index >= 0) {
        walked += "[" + std::to_string(s.index) + "]";
        if (!cur.IsSequence() || s.index >= static_cast<long>(cur.size()))
          throw ConfigError(where + ": '" + walked + "' is not an existing list item");
        if (last) {
          cur[s.index] = value;
          return;
        }
        YAML::Node next = cur[s.index];
        cur.reset(next);
      } else {
        walked = join(walked, s.key);
        if (cur.IsNull() || !cur.IsDefined()) cur = YAML::Node(YAML::NodeType::Map);
        if (!cur.IsMap())
          throw ConfigError(where + ": cannot set '" + dotted + "': '" + walked + "' is not a map");
        if (last) {
          cur[s.key] = value;
          return;
        }
        YAML::Node next = cur[s.key];
        if (!next.IsDefined() || next.IsNull()) {
          cur[s.key] = YAML::Node(YAML::NodeType::Map);
          next = cur[s.key];
        }
        cur.reset(next);
      }
    }
  }

  void record_origins(const YAML::Node& node, const std::string& path, const std::string& file) {
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it)
        record_origins(it->second, join(path, it->first.as<std::string>()), file);
    } else if (node.IsSequence() && std::any_of(node.begin(), node.end(),
                                                [](const YAML::Node& n) { return n.IsMap(); })) {
      for (size_t i = 0; i < node.size(); ++i)
        record_origins(node[i], path + "[" + std::to_string(i) + "]", file);
    }
    if (!path.empty()) origins[path] = file;
  }

  std::string origin_of(const std::string& path) const {
    // the deepest recorded ancestor (a key set as a whole map counts for its children)
    std::string p = path;
    while (true) {
      auto it = origins.find(p);
      if (it != origins.end()) return it->second;
      size_t cut = std::max(p.rfind('.'), p.rfind('[') == std::string::npos ? 0 : p.rfind('['));
      if (p.rfind('.') == std::string::npos && p.rfind('[') == std::string::npos) break;
      p = p.substr(0, cut);
    }
    return file;
  }

  void declare(const std::string& concrete, const std::string& type, const std::string& def,
               const std::string& doc) {
    std::string norm = normalise(concrete);
    auto it = declared.find(norm);
    if (it == declared.end()) declared[norm] = KeyDoc{norm, type, def, doc};
  }
};

// ---------------------------------------------------------------- loading
namespace {

// Deep merge `over` into `base` (both maps); returns the merged node.
YAML::Node merge(const YAML::Node& base, const YAML::Node& over) {
  if (!over.IsMap() || !base.IsMap()) return YAML::Clone(over);
  if (over["_delete_"] && over["_delete_"].IsScalar() && over["_delete_"].as<bool>(false)) {
    YAML::Node copy = YAML::Clone(over);
    copy.remove("_delete_");
    return copy;
  }
  YAML::Node out = YAML::Clone(base);
  for (auto it = over.begin(); it != over.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (out[key] && out[key].IsMap() && it->second.IsMap())
      out[key] = merge(out[key], it->second);
    else
      out[key] = YAML::Clone(it->second);
  }
  return out;
}

YAML::Node parse_yaml(const std::string& text, const std::string& origin) {
  try {
    YAML::Node n = YAML::Load(text);
    if (n.IsNull()) return YAML::Node(YAML::NodeType::Map);
    if (!n.IsMap()) throw ConfigError(origin + ": a config must be a YAML map at the top level");
    return n;
  } catch (const YAML::ParserException& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
}

std::string read_text(const fs::path& p, const std::string& what) {
  std::ifstream in(p);
  if (!in) throw ConfigError(what + ": cannot read config file '" + p.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Load `node` (parsed from `origin`, bases relative to `dir`) with its bases.
YAML::Node resolve_bases(YAML::Node node, const std::string& origin, const fs::path& dir,
                         std::vector<std::string>& stack, ConfigImpl& impl) {
  YAML::Node merged(YAML::NodeType::Map);
  if (node["_base_"]) {
    YAML::Node bases = node["_base_"];
    std::vector<std::string> list;
    if (bases.IsScalar()) list.push_back(bases.as<std::string>());
    else if (bases.IsSequence())
      for (const auto& b : bases) list.push_back(b.as<std::string>());
    else throw ConfigError(origin + ": _base_ must be a path or a list of paths");
    for (const std::string& b : list) {
      fs::path p = fs::path(b).is_absolute() ? fs::path(b) : dir / b;
      std::error_code ec;
      if (!fs::exists(p, ec)) throw ConfigError(origin + ": _base_ file '" + b + "' not found (looked at " + p.string() + ")");
      std::string canon = fs::weakly_canonical(p).string();
      if (std::find(stack.begin(), stack.end(), canon) != stack.end()) {
        std::string chain;
        for (const auto& s : stack) chain += s + " -> ";
        throw ConfigError(origin + ": _base_ cycle: " + chain + canon);
      }
      stack.push_back(canon);
      YAML::Node child = parse_yaml(read_text(p, origin), p.string());
      YAML::Node resolved = resolve_bases(child, p.string(), p.parent_path(), stack, impl);
      stack.pop_back();
      merged = merge(merged, resolved);
    }
    node.remove("_base_");
  }
  impl.record_origins(node, "", origin);
  return merge(merged, node);
}

void apply_overrides(ConfigImpl& impl, const std::vector<std::string>& overrides) {
  for (const std::string& ov : overrides) {
    size_t eq = ov.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError("--set '" + ov + "': expected key=value, e.g. --set data.batch_size=4");
    std::string key = ov.substr(0, eq);
    std::string text = ov.substr(eq + 1);
    YAML::Node value;
    try {
      value = text.empty() ? YAML::Node() : YAML::Load(text);
    } catch (const YAML::Exception& e) {
      throw ConfigError("--set '" + ov + "': value is not valid YAML: " + e.msg);
    }
    impl.set(key, value, "--set " + key);
    impl.record_origins(value, key, "--set");
    impl.origins[key] = "--set";
  }
}

}  // namespace

Config Config::load(const std::string& path, const std::vector<std::string>& overrides) {
  fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) throw ConfigError("config file '" + path + "' not found");
  if (fs::is_directory(p, ec)) throw ConfigError("config '" + path + "' is a directory, not a YAML file");
  std::string text = read_text(p, path);
  auto impl = std::make_shared<ConfigImpl>();
  impl->file = path;
  std::vector<std::string> stack{fs::weakly_canonical(p).string()};
  impl->tree = resolve_bases(parse_yaml(text, path), path, p.parent_path(), stack, *impl);
  apply_overrides(*impl, overrides);
  return Config(impl);
}

Config Config::from_string(const std::string& yaml, const std::string& origin,
                           const std::vector<std::string>& overrides, const std::string& dir) {
  auto impl = std::make_shared<ConfigImpl>();
  impl->file = origin;
  std::vector<std::string> stack;
  impl->tree = resolve_bases(parse_yaml(yaml, origin), origin, fs::path(dir), stack, *impl);
  apply_overrides(*impl, overrides);
  return Config(impl);
}

ConfigSection Config::root() const { return ConfigSection(impl_, ""); }
ConfigSection Config::section(const std::string& dotted) const { return ConfigSection(impl_, dotted); }
const std::string& Config::file() const { return impl_->file; }
std::string Config::origin(const std::string& dotted) const {
  auto it = impl_->origins.find(dotted);
  return it == impl_->origins.end() ? "" : it->second;
}

std::vector<KeyDoc> Config::declared() const {
  std::vector<KeyDoc> out;
  for (const auto& kv : impl_->declared) out.push_back(kv.second);
  return out;
}

std::string Config::to_yaml() const {
  YAML::Emitter out;
  out << impl_->tree;
  return std::string(out.c_str()) + "\n";
}

// ---------------------------------------------------------------- strictness
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      // transposition counts as one edit ("batch_szie")
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev[j - 1]);  // approximate Damerau on two rows
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : "";
}

namespace {

void check_node(const ConfigImpl& impl, const YAML::Node& node, const std::string& path) {
  std::string norm = normalise(path);
  if (!path.empty()) {
    auto it = impl.declared.find(norm);
    if (it != impl.declared.end()) {
      if (it->second.type != "list<map>") return;  // a declared leaf or free-form map
    } else {
      // undeclared: allowed only as a container of declared keys
      bool container = false;
      for (const auto& kv : impl.declared) {
        const std::string& k = kv.first;
        if (k.size() > norm.size() && k.compare(0, norm.size(), norm) == 0 &&
            (k[norm.size()] == '.' || k[norm.size()] == '[')) {
          container = true;
          break;
        }
      }
      if (!container || !(node.IsMap() || node.IsNull())) {
        std::string parent = parent_of(norm), leaf = leaf_of(norm);
        std::vector<std::string> siblings, all;
        for (const auto& kv : impl.declared) {
          all.push_back(kv.first);
          if (parent_of(kv.first) == parent) siblings.push_back(leaf_of(kv.first));
        }
        std::string suggestion = nearest(leaf, siblings);
        if (!suggestion.empty()) suggestion = join(parent, suggestion);
        else suggestion = nearest(norm, all);
        std::string msg = impl.origin_of(path) + ": unknown config key '" + path + "'";
        if (!suggestion.empty()) msg += " (did you mean '" + suggestion + "'?)";
        else if (!siblings.empty()) {
          msg += "; valid keys here:";
          for (size_t i = 0; i < siblings.size() && i < 12; ++i) msg += (i ? ", " : " ") + siblings[i];
        }
        throw ConfigError(msg);
      }
    }
  }
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it)
      check_node(impl, it->second, join(path, it->first.as<std::string>()));
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      if (node[i].IsMap()) check_node(impl, node[i], path + "[" + std::to_string(i) + "]");
  }
}

}  // namespace

void Config::check_unknown_keys() const { check_node(*impl_, impl_->tree, ""); }

// ---------------------------------------------------------------- typed reads
namespace {

template <class T> struct TypeName;
template <> struct TypeName<bool> { static constexpr const char* value = "bool"; };
template <> struct TypeName<int> { static constexpr const char* value = "int"; };
template <> struct TypeName<int64_t> { static constexpr const char* value = "int"; };
template <> struct TypeName<double> { static constexpr const char* value = "float"; };
template <> struct TypeName<float> { static constexpr const char* value = "float"; };
template <> struct TypeName<std::string> { static constexpr const char* value = "string"; };
template <> struct TypeName<std::vector<int64_t>> { static constexpr const char* value = "list<int>"; };
template <> struct TypeName<std::vector<double>> { static constexpr const char* value = "list<float>"; };
template <> struct TypeName<std::vector<std::string>> { static constexpr const char* value = "list<string>"; };

// The shortest decimal text that reads back as exactly `v` (as Python's repr),
// so resolved configs print 0.485, not 0.48499999999999999.
std::string shortest(double v) {
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

template <class T>
YAML::Node to_node(const T& v) { return YAML::Node(v); }
YAML::Node to_node(double v) { return YAML::Node(shortest(v)); }
YAML::Node to_node(float v) { return YAML::Node(shortest(v)); }
YAML::Node to_node(const std::vector<double>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (double x : v) n.push_back(YAML::Node(shortest(x)));
  return n;
}

template <class T>
std::string repr(const T& v) {
  YAML::Emitter e;
  e << YAML::Flow << to_node(v);
  return e.c_str();
}

std::string describe(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "null";
}

template <class T>
bool convert_scalar(const YAML::Node& n, T& out) {
  if (!n.IsScalar()) return false;
  // YAML::convert accepts "1.0" as int? It does not; it also refuses "1e3" as int.
  return YAML::convert<T>::decode(n, out);
}

template <class T>
bool convert_value(const YAML::Node& n, T& out) { return convert_scalar(n, out); }

template <class E>
bool convert_value(const YAML::Node& n, std::vector<E>& out) {
  if (!n.IsSequence()) return false;
  out.clear();
  for (const auto& item : n) {
    E e;
    if (!convert_scalar(item, e)) return false;
    out.push_back(e);
  }
  return true;
}

}  // namespace

std::string ConfigSection::path(const std::string& key) const { return join(prefix_, key); }

void ConfigSection::fail(const std::string& key, const std::string& msg) const {
  std::string p = path(key);
  throw ConfigError(impl_->origin_of(p) + ": " + p + ": " + msg);
}

std::string ConfigSection::origin_dir(const std::string& key) const {
  std::string o = impl_->origin_of(path(key));
  if (o.empty() || o == "--set" || o[0] == '<') return "";
  return fs::path(o).parent_path().string();
}

bool ConfigSection::has(const std::string& key) const {
  YAML::Node n = impl_->find(path(key));
  return n.IsDefined() && !n.IsNull();
}

ConfigSection ConfigSection::sub(const std::string& key) const { return ConfigSection(impl_, path(key)); }

size_t ConfigSection::list_size(const std::string& key, const std::string& doc) const {
  impl_->declare(path(key), "list<map>", "[]", doc);
  YAML::Node n = impl_->find(path(key));
  if (!n.IsDefined() || n.IsNull()) return 0;
  if (!n.IsSequence()) fail(key, "expects a list, got " + describe(n));
  for (size_t i = 0; i < n.size(); ++i)
    if (!n[i].IsMap()) fail(key + "[" + std::to_string(i) + "]", "expects a map, got " + describe(n[i]));
  return n.size();
}

ConfigSection ConfigSection::item(const std::string& key, size_t index) const {
  return ConfigSection(impl_, path(key) + "[" + std::to_string(index) + "]");
}

std::map<std::string, std::string> ConfigSection::string_map(const std::string& key,
                                                             const std::string& doc) const {
  impl_->declare(path(key), "map", "{}", doc);
  std::map<std::string, std::string> out;
  YAML::Node n = impl_->find(path(key));
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsMap()) fail(key, "expects a map, got " + describe(n));
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->second.IsScalar()) fail(key + "." + it->first.as<std::string>(), "expects a scalar");
    out[it->first.as<std::string>()] = it->second.as<std::string>();
  }
  return out;
}

template <class T>
T ConfigSection::get(const std::string& key, const T& def, const std::string& doc) const {
  std::string p = path(key);
  impl_->declare(p, TypeName<T>::value, repr(def), doc);
  YAML::Node n = impl_->find(p);
  if (!n.IsDefined() || n.IsNull()) {
    impl_->set(p, to_node(def), "default");
    return def;
  }
  T out;
  if (!convert_value(n, out)) fail(key, std::string("expects ") + TypeName<T>::value + ", got " + describe(n));
  return out;
}

template <class T>
T ConfigSection::require(const std::string& key, const std::string& doc) const {
  std::string p = path(key);
  impl_->declare(p, TypeName<T>::value, "", doc);
  YAML::Node n = impl_->find(p);
  if (!n.IsDefined() || n.IsNull()) fail(key, "is required (" + doc + ")");
  T out;
  if (!convert_value(n, out)) fail(key, std::string("expects ") + TypeName<T>::value + ", got " + describe(n));
  return out;
}

template <class T>
std::optional<T> ConfigSection::optional(const std::string& key, const std::string& doc) const {
  std::string p = path(key);
  impl_->declare(p, TypeName<T>::value, "null", doc);
  YAML::Node n = impl_->find(p);
  if (!n.IsDefined() || n.IsNull()) {
    if (!n.IsDefined()) impl_->set(p, YAML::Node(YAML::NodeType::Null), "default");
    return std::nullopt;
  }
  T out;
  if (!convert_value(n, out)) fail(key, std::string("expects ") + TypeName<T>::value + ", got " + describe(n));
  return out;
}

#define SEER_CONFIG_INSTANTIATE(T)                                                              \
  template T ConfigSection::get<T>(const std::string&, const T&, const std::string&) const;     \
  template T ConfigSection::require<T>(const std::string&, const std::string&) const;           \
  template std::optional<T> ConfigSection::optional<T>(const std::string&, const std::string&) const;

SEER_CONFIG_INSTANTIATE(bool)
SEER_CONFIG_INSTANTIATE(int)
SEER_CONFIG_INSTANTIATE(int64_t)
SEER_CONFIG_INSTANTIATE(double)
SEER_CONFIG_INSTANTIATE(float)
SEER_CONFIG_INSTANTIATE(std::string)
SEER_CONFIG_INSTANTIATE(std::vector<int64_t>)
SEER_CONFIG_INSTANTIATE(std::vector<double>)
SEER_CONFIG_INSTANTIATE(std::vector<std::string>)

std::string resolve_data_path(const std::string& root, const std::string& path) {
  if (path.empty() || root.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(root) / path).string();
}

double ConfigSection::get_non_negative(const std::string& key, double def, const std::string& doc) const {
  const double v = get<double>(key, def, doc);
  if (v < 0) fail(key, "must be >= 0, got " + std::to_string(v));
  return v;
}

}  // namespace seer
