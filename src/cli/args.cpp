#include "cli/args.h"

#include <sstream>

#include "core/config.h"
#include "core/error.h"

namespace seer::cli {

std::string Args::get(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? def : it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int Args::get_int(const std::string& name, int def) const {
  if (!has(name)) return def;
  std::string v = get(name);
  try {
    size_t used = 0;
    int x = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw UsageError(name + " expects an integer, got '" + v + "'");
  }
}

Args parse_args(const CommandSpec& spec, const std::vector<std::string>& argv) {
  Args args;
  auto find = [&](const std::string& name) -> const OptionSpec* {
    for (const auto& o : spec.options)
      if (o.name == name) return &o;
    return nullptr;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string tok = argv[i];
    if (tok.rfind("--", 0) == 0 && tok.size() > 2) {
      std::string name = tok, inline_value;
      bool has_inline = false;
      size_t eq = tok.find('=');
      if (eq != std::string::npos) {
        name = tok.substr(0, eq);
        inline_value = tok.substr(eq + 1);
        has_inline = true;
      }
      const OptionSpec* o = find(name);
      if (!o) {
        std::vector<std::string> names;
        for (const auto& opt : spec.options) names.push_back(opt.name);
        std::string near = nearest(name, names);
        throw UsageError("seer " + spec.name + ": unknown option '" + name + "'" +
                         (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; see 'seer " + spec.name +
                         " --help'");
      }
      auto& slot = args.values_[o->name];
      switch (o->kind) {
        case OptionSpec::Flag:
          if (has_inline) throw UsageError("seer " + spec.name + ": " + name + " takes no value");
          break;
        case OptionSpec::OptionalValue:
          if (has_inline) slot.push_back(inline_value);
          else if (i + 1 < argv.size() && argv[i + 1].rfind("--", 0) != 0) slot.push_back(argv[++i]);
          break;
        case OptionSpec::MultiValue:
          if (has_inline) slot.push_back(inline_value);
          while (i + 1 < argv.size() && argv[i + 1].rfind("--", 0) != 0) slot.push_back(argv[++i]);
          if (slot.empty()) throw UsageError("seer " + spec.name + ": " + name + " needs at least one " + o->metavar);
          break;
        case OptionSpec::KeyValues: {
          auto is_pair = [](const std::string& t) { return t.find('=') != std::string::npos && t.rfind("-", 0) != 0; };
          if (has_inline) slot.push_back(inline_value);
          else if (i + 1 < argv.size() && argv[i + 1].rfind("--", 0) != 0) slot.push_back(argv[++i]);
          else throw UsageError("seer " + spec.name + ": " + name + " needs a value (" + o->metavar + ")");
          while (i + 1 < argv.size() && is_pair(argv[i + 1])) slot.push_back(argv[++i]);
          break;
        }
        case OptionSpec::Value:
        case OptionSpec::Repeated:
          if (has_inline) slot.push_back(inline_value);
          else if (i + 1 < argv.size()) slot.push_back(argv[++i]);
          else throw UsageError("seer " + spec.name + ": " + name + " needs a value (" + o->metavar + ")");
          if (o->kind == OptionSpec::Value && slot.size() > 1)
            throw UsageError("seer " + spec.name + ": " + name + " given more than once");
          break;
      }
    } else {
      args.positionals_.push_back(tok);
    }
  }
  // Optional positionals are written "[NAME]" and come after the required ones.
  size_t required = 0;
  for (const auto& p : spec.positionals) required += p.first.empty() || p.first[0] != '[';
  if (args.positionals_.size() < required)
    throw UsageError("seer " + spec.name + ": missing " + spec.positionals[args.positionals_.size()].first +
                     "; see 'seer " + spec.name + " --help'");
  if (args.positionals_.size() > spec.positionals.size())
    throw UsageError("seer " + spec.name + ": unexpected argument '" + args.positionals_[spec.positionals.size()] + "'");
  for (const auto& o : spec.options)
    if (o.required && !args.has(o.name))
      throw UsageError("seer " + spec.name + ": " + o.name + " " + o.metavar + " is required");
  return args;
}

std::string format_help(const CommandSpec& spec) {
  std::ostringstream os;
  os << "usage: seer " << spec.name;
  for (const auto& p : spec.positionals) os << " " << p.first;
  for (const auto& o : spec.options) {
    std::string v = o.metavar.empty() ? "" : " " + o.metavar;
    if (o.kind == OptionSpec::OptionalValue) v = " [" + o.metavar + "]";
    if (o.kind == OptionSpec::MultiValue || o.kind == OptionSpec::KeyValues) v += "...";
    os << (o.required ? " " : " [") << o.name << v << (o.required ? "" : "]");
  }
  os << "\n\n" << spec.summary << "\n";
  if (!spec.positionals.empty()) {
    os << "\narguments:\n";
    for (const auto& p : spec.positionals) os << "  " << p.first << std::string(p.first.size() < 22 ? 22 - p.first.size() : 1, ' ') << p.second << "\n";
  }
  os << "\noptions:\n";
  for (const auto& o : spec.options) {
    std::string left = o.name + (o.metavar.empty() ? "" : " " + o.metavar);
    os << "  " << left << std::string(left.size() < 22 ? 22 - left.size() : 1, ' ') << o.help << "\n";
  }
  os << "  --help" << std::string(16, ' ') << "show this help\n";
  return os.str();
}

}  // namespace seer::cli
