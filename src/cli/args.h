#pragma once
// A small command-line parser for the subcommands: positionals, `--opt value`,
// repeated options, KEY=VALUE lists (--set a=1 b=2, repeatable), multi-value
// options (--image a b c), flags and options whose value is optional (--resume [CKPT]).
#include <map>
#include <string>
#include <vector>

namespace seer::cli {

struct OptionSpec {
  // KeyValues: one or more KEY=VALUE after one flag (as mmdet's --cfg-options), and
  // the flag may repeat; the list ends at the first token without '=' or starting with '-'.
  enum Kind { Value, Flag, Repeated, MultiValue, OptionalValue, KeyValues };
  std::string name;  // "--weights"
  Kind kind = Value;
  std::string metavar;
  std::string help;
  bool required = false;
};

struct CommandSpec {
  std::string name;
  std::string summary;
  // (METAVAR, help); "[METAVAR]" marks an optional one (after the required ones)
  std::vector<std::pair<std::string, std::string>> positionals;
  std::vector<OptionSpec> options;
};

class Args {
 public:
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& def = "") const;
  std::vector<std::string> all(const std::string& name) const;
  const std::string& positional(size_t i) const { return positionals_.at(i); }
  size_t positional_count() const { return positionals_.size(); }
  int get_int(const std::string& name, int def) const;

 private:
  friend Args parse_args(const CommandSpec&, const std::vector<std::string>&);
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
};

// Throws UsageError (exit 2) naming the bad argument, with a "did you mean".
Args parse_args(const CommandSpec& spec, const std::vector<std::string>& argv);
std::string format_help(const CommandSpec& spec);

}  // namespace seer::cli
