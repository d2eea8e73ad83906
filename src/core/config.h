#pragma once
// YAML configs with `_base_` inheritance, `--set` overrides and strict keys.
//
// A config file is YAML. `_base_: [a.yaml, b.yaml]` (paths relative to the file)
// merges the bases in order, recursively, then deep-merges the file on top: maps
// merge key by key, lists and scalars replace; a map with `_delete_: true`
// replaces instead of merging. `--set a.b.c=value` overrides parse `value` as YAML.
//
// Strictness: every component declares the keys it reads, where it reads them,
// through ConfigSection::get(key, default, doc). After all components have read
// their options, Config::check_unknown_keys() rejects any key nobody declared,
// naming the file that set it and the nearest declared key. Defaults are written
// into the tree as they are read, so to_yaml() prints the fully resolved config.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace seer {

struct KeyDoc {
  std::string path;          // e.g. "data.train.transforms[].p" (list indices collapsed)
  std::string type;          // "int", "float", "bool", "string", "list<int>", ..., "map"
  std::string default_repr;  // YAML of the default, "" when required
  std::string doc;           // one line
};

class Config;

// A view on one map inside the config (the root, `data`, `data.train.transforms[2]`).
class ConfigSection {
 public:
  // Read `key`; when absent, `def` is written into the config and returned.
  // T: bool, int, int64_t, double, float, std::string, or std::vector of int64_t,
  // double, std::string. A value of the wrong type is a ConfigError naming file and key.
  template <class T>
  T get(const std::string& key, const T& def, const std::string& doc) const;
  // A double that must be >= 0 (loss weights, costs): a negative value is a
  // ConfigError naming the key.
  double get_non_negative(const std::string& key, double def, const std::string& doc) const;
  // Read a key that has no default: absent is a ConfigError.
  template <class T>
  T require(const std::string& key, const std::string& doc) const;
  // Read a key that may stay absent (null also counts as absent).
  template <class T>
  std::optional<T> optional(const std::string& key, const std::string& doc) const;
  // Declare a free-form map whose content is not checked (e.g. a label map).
  std::map<std::string, std::string> string_map(const std::string& key, const std::string& doc) const;

  bool has(const std::string& key) const;
  // A nested map (it need not exist: reads then see defaults).
  ConfigSection sub(const std::string& key) const;
  // A list of maps: declare it, then read items with item().
  size_t list_size(const std::string& key, const std::string& doc) const;
  ConfigSection item(const std::string& key, size_t index) const;

  // Dotted path of a key in this section, e.g. "data.batch_size".
  std::string path(const std::string& key) const;
  // Throw a ConfigError about `key`: "<file>: <path>: <msg>".
  [[noreturn]] void fail(const std::string& key, const std::string& msg) const;
  // Directory of the file that set `key` (for resolving relative paths), or "".
  std::string origin_dir(const std::string& key) const;

 private:
  friend class Config;
  ConfigSection(std::shared_ptr<struct ConfigImpl> impl, std::string prefix)
      : impl_(std::move(impl)), prefix_(std::move(prefix)) {}
  std::shared_ptr<struct ConfigImpl> impl_;
  std::string prefix_;  // "" for the root, else "a.b" or "a.list[3]"
};

class Config {
 public:
  // Load a YAML file with its bases, then apply `--set` overrides ("a.b=value").
  static Config load(const std::string& path, const std::vector<std::string>& overrides = {});
  // Parse YAML text (bases resolve relative to `dir`); origin names it in errors.
  static Config from_string(const std::string& yaml, const std::string& origin = "<string>",
                            const std::vector<std::string>& overrides = {},
                            const std::string& dir = ".");

  ConfigSection root() const;
  ConfigSection section(const std::string& dotted) const;

  // Every key in the tree must have been declared by a reader by now.
  void check_unknown_keys() const;
  // The resolved tree (defaults filled in for every key read so far).
  std::string to_yaml() const;
  // Everything declared so far, sorted by path (for `seer config --keys`).
  std::vector<KeyDoc> declared() const;
  // The file (or "--set") that set a dotted path, or "" if nothing did.
  std::string origin(const std::string& dotted) const;
  // The top-level file this config came from.
  const std::string& file() const;

 private:
  explicit Config(std::shared_ptr<ConfigImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<ConfigImpl> impl_;
};

// Edit distance, used for "did you mean" suggestions (also by the CLI).
size_t edit_distance(const std::string& a, const std::string& b);
// The candidate closest to `word` within a sensible distance, or "".
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

// Join `path` onto `root` (e.g. data.root) unless it is absolute or root is empty.
std::string resolve_data_path(const std::string& root, const std::string& path);

}  // namespace seer
