#include "core/pickle.h"
#include "text/unicode.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace seer::pickle {

// ------------------------------------------------------------------ PyValue

namespace {

PyRef make(PyValue::Kind k) {
  auto v = std::make_shared<PyValue>();
  v->kind = k;
  return v;
}

// A key under which Python would consider two dict keys equal (1 == 1.0 == True),
// or false when the value is not hashable by content (lists, dicts, objects).
bool hash_key(const PyValue& v, std::string& out) {
  switch (v.kind) {
    case PyValue::Kind::None: out += "N"; return true;
    case PyValue::Kind::Bool: out += v.b ? "i1;" : "i0;"; return true;
    case PyValue::Kind::Int: out += "i" + std::to_string(v.i) + ";"; return true;
    case PyValue::Kind::BigInt: out += "I" + std::to_string(v.str.size()) + ":" + v.str; return true;
    case PyValue::Kind::Float:
      if (std::isfinite(v.f) && v.f == std::floor(v.f) && std::fabs(v.f) < 9.2e18) {
        out += "i" + std::to_string(static_cast<int64_t>(v.f)) + ";";
      } else {
        char buf[40];
        std::snprintf(buf, sizeof(buf), "f%.17g;", v.f);
        out += buf;
      }
      return true;
    case PyValue::Kind::Str: out += "s" + std::to_string(v.str.size()) + ":" + v.str; return true;
    case PyValue::Kind::Bytes: out += "b" + std::to_string(v.str.size()) + ":" + v.str; return true;
    case PyValue::Kind::Tuple:
      out += "t(";
      for (const auto& it : v.items)
        if (!it || !hash_key(*it, out)) return false;
      out += ")";
      return true;
    case PyValue::Kind::Global: out += "g" + v.name + ";"; return true;
    default: return false;
  }
}

// Latin-1 bytes -> UTF-8.
std::string latin1_to_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

// UTF-8 -> Latin-1, false when a code point is above U+00FF.
bool utf8_to_latin1(const std::string& s, std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
      unsigned cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
      if (cp > 0xFF) return false;
      out += static_cast<char>(cp);
      ++i;
    } else {
      return false;
    }
  }
  return true;
}


bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 4;
    if (n == 4 || i + n >= s.size() + (n == 0 ? 1 : 0) || (n > 0 && i + n > s.size() - 1)) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}

// Python 2 `str` payloads (STRING/BINSTRING/SHORT_BINSTRING) are bytes of unknown
// encoding; Python 3 loads them with encoding='latin1' when asked. We keep text
// that is already valid UTF-8 as is and read anything else as Latin-1, which
// never fails and is right for the ASCII that such files almost always hold.
std::string py2_str_to_utf8(const std::string& raw) { return valid_utf8(raw) ? raw : latin1_to_utf8(raw); }

std::string quote(const std::string& s, char q) {
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\' || c == static_cast<unsigned char>(q)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || (q == '\'' && c == 0x7f) || (q == 'b' && c >= 0x7f)) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += q == 'b' ? '\'' : q;
  return out;
}

}  // namespace

const char* kind_name(PyValue::Kind k) {
  switch (k) {
    case PyValue::Kind::None: return "None";
    case PyValue::Kind::Bool: return "bool";
    case PyValue::Kind::Int: return "int";
    case PyValue::Kind::BigInt: return "int";
    case PyValue::Kind::Float: return "float";
    case PyValue::Kind::Str: return "str";
    case PyValue::Kind::Bytes: return "bytes";
    case PyValue::Kind::List: return "list";
    case PyValue::Kind::Tuple: return "tuple";
    case PyValue::Kind::Dict: return "dict";
    case PyValue::Kind::Set: return "set";
    case PyValue::Kind::Global: return "global";
    case PyValue::Kind::Object: return "object";
  }
  return "?";
}

PyRef PyValue::none() { return make(Kind::None); }
PyRef PyValue::boolean(bool v) {
  auto r = make(Kind::Bool);
  r->b = v;
  r->i = v ? 1 : 0;
  return r;
}
PyRef PyValue::integer(int64_t v) {
  auto r = make(Kind::Int);
  r->i = v;
  return r;
}
PyRef PyValue::floating(double v) {
  auto r = make(Kind::Float);
  r->f = v;
  return r;
}
PyRef PyValue::string(std::string v) {
  auto r = make(Kind::Str);
  r->str = std::move(v);
  return r;
}
PyRef PyValue::bytes(std::string v) {
  auto r = make(Kind::Bytes);
  r->str = std::move(v);
  return r;
}
PyRef PyValue::list(std::vector<PyRef> v) {
  auto r = make(Kind::List);
  r->items = std::move(v);
  return r;
}
PyRef PyValue::tuple(std::vector<PyRef> v) {
  auto r = make(Kind::Tuple);
  r->items = std::move(v);
  return r;
}
PyRef PyValue::dict() { return make(Kind::Dict); }
PyRef PyValue::set(std::vector<PyRef> v) {
  auto r = make(Kind::Set);
  r->items = std::move(v);
  return r;
}
PyRef PyValue::global(std::string module_dot_name) {
  auto r = make(Kind::Global);
  r->name = std::move(module_dot_name);
  return r;
}

std::string PyValue::type_name() const {
  if ((kind == Kind::Dict || kind == Kind::Set || kind == Kind::Bytes) && !name.empty()) return name;
  if (kind == Kind::Object) return name;
  return kind_name(kind);
}

namespace {
[[noreturn]] void wrong_kind(const PyValue& v, const char* wanted) {
  throw RuntimeError(std::string("pickle value: expected ") + wanted + ", got " + v.type_name() + " " +
                     v.repr(2));
}
}  // namespace

bool PyValue::as_bool() const {
  if (kind == Kind::Bool) return b;
  if (kind == Kind::Int) return i != 0;
  wrong_kind(*this, "bool");
}
int64_t PyValue::as_int() const {
  if (kind == Kind::Int || kind == Kind::Bool) return i;
  wrong_kind(*this, "int");
}
double PyValue::as_float() const {
  if (kind == Kind::Float) return f;
  if (kind == Kind::Int || kind == Kind::Bool) return static_cast<double>(i);
  wrong_kind(*this, "float");
}
const std::string& PyValue::as_str() const {
  if (kind == Kind::Str) return str;
  wrong_kind(*this, "str");
}
const std::string& PyValue::as_bytes() const {
  if (kind == Kind::Bytes) return str;
  wrong_kind(*this, "bytes");
}
const std::vector<PyRef>& PyValue::as_items() const {
  if (kind == Kind::List || kind == Kind::Tuple || kind == Kind::Set) return items;
  wrong_kind(*this, "list or tuple");
}

PyRef PyValue::get(const std::string& key) const {
  auto it = index_.find("s" + std::to_string(key.size()) + ":" + key);
  return it == index_.end() ? nullptr : entries[it->second].second;
}
PyRef PyValue::get(int64_t key) const {
  auto it = index_.find("i" + std::to_string(key) + ";");
  return it == index_.end() ? nullptr : entries[it->second].second;
}
const PyRef& PyValue::at(const std::string& key) const {
  auto it = index_.find("s" + std::to_string(key.size()) + ":" + key);
  if (it == index_.end()) throw RuntimeError("pickle value: key '" + key + "' not in " + type_name());
  return entries[it->second].second;
}
void PyValue::set_item(PyRef key, PyRef value) {
  std::string h;
  if (key && hash_key(*key, h)) {
    auto it = index_.find(h);
    if (it != index_.end()) {
      entries[it->second].second = std::move(value);
      return;
    }
    index_.emplace(std::move(h), entries.size());
  }
  entries.emplace_back(std::move(key), std::move(value));
}
size_t PyValue::size() const { return kind == Kind::Dict ? entries.size() : items.size(); }

std::string PyValue::repr(int max_depth) const {
  auto sub = [&](const PyRef& v) { return !v ? std::string("<null>") : max_depth <= 0 ? "..." : v->repr(max_depth - 1); };
  auto seq = [&](const std::vector<PyRef>& xs, const char* open, const char* close, bool one_tuple) {
    std::string s = open;
    for (size_t k = 0; k < xs.size(); ++k) s += (k ? ", " : "") + sub(xs[k]);
    if (one_tuple && xs.size() == 1) s += ",";
    return s + close;
  };
  auto dict_body = [&]() {
    std::string s = "{";
    for (size_t k = 0; k < entries.size(); ++k)
      s += (k ? ", " : "") + sub(entries[k].first) + ": " + sub(entries[k].second);
    return s + "}";
  };
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return b ? "True" : "False";
    case Kind::Int: return std::to_string(i);
    case Kind::BigInt: return "<int of " + std::to_string(str.size()) + " bytes>";
    case Kind::Float: {
      if (std::isnan(f)) return "nan";
      if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
      char buf[40];
      for (int prec = 1; prec <= 17; ++prec) {  // shortest text that reads back exactly, as Python's repr
        std::snprintf(buf, sizeof(buf), "%.*g", prec, f);
        if (std::strtod(buf, nullptr) == f) break;
      }
      std::string t = buf;
      if (t.find_first_of(".en") == std::string::npos) t += ".0";
      return t;
    }
    case Kind::Str: return quote(str, '\'');
    case Kind::Bytes: return "b" + quote(str, 'b');
    case Kind::List: return seq(items, "[", "]", false);
    case Kind::Tuple: return seq(items, "(", ")", true);
    case Kind::Set: return items.empty() ? type_name() + "()" : seq(items, "{", "}", false);
    case Kind::Dict: return name.empty() ? dict_body() : name + "(" + dict_body() + ")";
    case Kind::Global: return "<global " + name + ">";
    case Kind::Object: {
      std::string s = name + (args ? sub(args) : std::string("()"));
      if (kwargs) s += "**" + sub(kwargs);
      if (!entries.empty()) s += dict_body();
      if (state) s += " state=" + sub(state);
      return s;
    }
  }
  return "?";
}

// ------------------------------------------------------------------ opcodes

namespace op {
enum : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I', BININT = 'J',
  BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R',
  STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U', UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a',
  BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h',
  INST = 'i', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q',
  LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
  // protocol 2
  PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
  TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
  // protocol 3
  BINBYTES = 'B', SHORT_BINBYTES = 'C',
  // protocol 4
  SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90,
  FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
  // protocol 5
  BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98,
};
}  // namespace op

const char* opcode_name(uint8_t o) {
  switch (o) {
    case op::MARK: return "MARK";
    case op::STOP: return "STOP";
    case op::POP: return "POP";
    case op::POP_MARK: return "POP_MARK";
    case op::DUP: return "DUP";
    case op::FLOAT: return "FLOAT";
    case op::INT: return "INT";
    case op::BININT: return "BININT";
    case op::BININT1: return "BININT1";
    case op::LONG: return "LONG";
    case op::BININT2: return "BININT2";
    case op::NONE: return "NONE";
    case op::PERSID: return "PERSID";
    case op::BINPERSID: return "BINPERSID";
    case op::REDUCE: return "REDUCE";
    case op::STRING: return "STRING";
    case op::BINSTRING: return "BINSTRING";
    case op::SHORT_BINSTRING: return "SHORT_BINSTRING";
    case op::UNICODE: return "UNICODE";
    case op::BINUNICODE: return "BINUNICODE";
    case op::APPEND: return "APPEND";
    case op::BUILD: return "BUILD";
    case op::GLOBAL: return "GLOBAL";
    case op::DICT: return "DICT";
    case op::EMPTY_DICT: return "EMPTY_DICT";
    case op::APPENDS: return "APPENDS";
    case op::GET: return "GET";
    case op::BINGET: return "BINGET";
    case op::INST: return "INST";
    case op::LONG_BINGET: return "LONG_BINGET";
    case op::LIST: return "LIST";
    case op::EMPTY_LIST: return "EMPTY_LIST";
    case op::OBJ: return "OBJ";
    case op::PUT: return "PUT";
    case op::BINPUT: return "BINPUT";
    case op::LONG_BINPUT: return "LONG_BINPUT";
    case op::SETITEM: return "SETITEM";
    case op::TUPLE: return "TUPLE";
    case op::EMPTY_TUPLE: return "EMPTY_TUPLE";
    case op::SETITEMS: return "SETITEMS";
    case op::BINFLOAT: return "BINFLOAT";
    case op::PROTO: return "PROTO";
    case op::NEWOBJ: return "NEWOBJ";
    case op::EXT1: return "EXT1";
    case op::EXT2: return "EXT2";
    case op::EXT4: return "EXT4";
    case op::TUPLE1: return "TUPLE1";
    case op::TUPLE2: return "TUPLE2";
    case op::TUPLE3: return "TUPLE3";
    case op::NEWTRUE: return "NEWTRUE";
    case op::NEWFALSE: return "NEWFALSE";
    case op::LONG1: return "LONG1";
    case op::LONG4: return "LONG4";
    case op::BINBYTES: return "BINBYTES";
    case op::SHORT_BINBYTES: return "SHORT_BINBYTES";
    case op::SHORT_BINUNICODE: return "SHORT_BINUNICODE";
    case op::BINUNICODE8: return "BINUNICODE8";
    case op::BINBYTES8: return "BINBYTES8";
    case op::EMPTY_SET: return "EMPTY_SET";
    case op::ADDITEMS: return "ADDITEMS";
    case op::FROZENSET: return "FROZENSET";
    case op::NEWOBJ_EX: return "NEWOBJ_EX";
    case op::STACK_GLOBAL: return "STACK_GLOBAL";
    case op::MEMOIZE: return "MEMOIZE";
    case op::FRAME: return "FRAME";
    case op::BYTEARRAY8: return "BYTEARRAY8";
    case op::NEXT_BUFFER: return "NEXT_BUFFER";
    case op::READONLY_BUFFER: return "READONLY_BUFFER";
    default: return "";
  }
}

// ------------------------------------------------------------------ Unpickler

namespace {

// Little-endian two's complement bytes -> int64 when it fits, else a BigInt node.
PyRef int_from_le_bytes(const uint8_t* p, size_t n) {
  if (n == 0) return PyValue::integer(0);
  bool negative = (p[n - 1] & 0x80) != 0;
  bool fits = true;
  for (size_t k = 8; k < n; ++k)
    if (p[k] != (negative ? 0xFF : 0x00)) fits = false;
  if (n > 8 && fits && ((p[7] & 0x80) != 0) != negative) fits = false;
  if (!fits) {
    // minimal two's complement, so that every protocol gives the same bytes
    while (n > 1 && ((p[n - 1] == 0x00 && !(p[n - 2] & 0x80)) || (p[n - 1] == 0xFF && (p[n - 2] & 0x80)))) --n;
    auto r = std::make_shared<PyValue>();
    r->kind = PyValue::Kind::BigInt;
    r->str.assign(reinterpret_cast<const char*>(p), n);
    return r;
  }
  uint64_t u = negative ? ~uint64_t{0} : 0;
  for (size_t k = 0; k < std::min<size_t>(n, 8); ++k) {
    u &= ~(uint64_t{0xFF} << (8 * k));
    u |= uint64_t{p[k]} << (8 * k);
  }
  return PyValue::integer(static_cast<int64_t>(u));
}

// Decimal text -> int (BigInt when it does not fit int64); false on bad syntax.
bool int_from_decimal(std::string s, PyRef& out) {
  if (!s.empty() && (s.back() == 'L')) s.pop_back();  // Python 2 long suffix
  size_t k = 0;
  bool negative = false;
  if (k < s.size() && (s[k] == '-' || s[k] == '+')) negative = s[k++] == '-';
  if (k >= s.size()) return false;
  std::vector<uint8_t> mag(1, 0);  // little-endian magnitude
  for (; k < s.size(); ++k) {
    if (s[k] < '0' || s[k] > '9') return false;
    unsigned carry = static_cast<unsigned>(s[k] - '0');
    for (auto& byte : mag) {
      unsigned v = byte * 10u + carry;
      byte = static_cast<uint8_t>(v & 0xFF);
      carry = v >> 8;
    }
    while (carry) {
      mag.push_back(static_cast<uint8_t>(carry & 0xFF));
      carry >>= 8;
    }
  }
  mag.push_back(0);  // room for the sign bit
  if (negative) {    // two's complement
    unsigned carry = 1;
    for (auto& byte : mag) {
      unsigned v = static_cast<uint8_t>(~byte) + carry;
      byte = static_cast<uint8_t>(v & 0xFF);
      carry = v >> 8;
    }
  }
  out = int_from_le_bytes(mag.data(), mag.size());
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Unpickler::Unpickler(const uint8_t* data, size_t size, UnpicklerOptions options)
    : data_(data), size_(size), options_(std::move(options)) {}

void Unpickler::fail(const std::string& msg) const {
  const char* n = opcode_name(op_);
  char code[8];
  std::snprintf(code, sizeof(code), "0x%02x", op_);
  throw RuntimeError("pickle " + options_.source + ": opcode " + (*n ? std::string(n) + " (" + code + ")" : code) +
                     " at byte " + std::to_string(op_pos_) + ": " + msg);
}

const uint8_t* Unpickler::take(size_t n) {
  if (n > size_ - pos_)
    fail("truncated input (needs " + std::to_string(n) + " more bytes, " + std::to_string(size_ - pos_) + " left)");
  const uint8_t* p = data_ + pos_;
  pos_ += n;
  return p;
}

uint8_t Unpickler::u8() { return *take(1); }

uint64_t Unpickler::le(size_t n) {
  const uint8_t* p = take(n);
  uint64_t v = 0;
  for (size_t k = 0; k < n; ++k) v |= uint64_t{p[k]} << (8 * k);
  return v;
}

std::string Unpickler::line() {
  const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
  if (!nl) fail("truncated input (missing end of line)");
  size_t n = static_cast<const uint8_t*>(nl) - (data_ + pos_);
  std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
  pos_ += n + 1;
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

PyRef Unpickler::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
  PyRef v = std::move(stack_.back());
  stack_.pop_back();
  return v;
}

PyRef& Unpickler::top() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
  return stack_.back();
}

std::vector<PyRef> Unpickler::pop_mark() {
  if (marks_.empty()) fail("no MARK on the stack");
  size_t m = marks_.back();
  marks_.pop_back();
  std::vector<PyRef> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                           std::make_move_iterator(stack_.end()));
  stack_.resize(m);
  return items;
}

PyRef Unpickler::reduce(const PyRef& callable, const PyRef& args) {
  if (callable->kind != PyValue::Kind::Global)
    fail("callable is a " + callable->type_name() + ", not a global (" + callable->repr(2) + ")");
  if (args->kind != PyValue::Kind::Tuple) fail("arguments are a " + args->type_name() + ", not a tuple");
  const std::string& g = callable->name;
  const auto& a = args->items;
  // Builtin data types that low protocols can only express as a call; they are
  // rebuilt here as plain nodes because they carry data, not behaviour.
  if (g == "collections.OrderedDict") {
    auto d = PyValue::dict();
    d->name = g;
    if (!a.empty() && a[0]->is_sequence())
      for (const auto& kv : a[0]->items)
        if (kv->is_sequence() && kv->items.size() == 2) d->set_item(kv->items[0], kv->items[1]);
    return d;
  }
  if (g == "builtins.set" || g == "__builtin__.set" || g == "builtins.frozenset" || g == "__builtin__.frozenset") {
    auto s = PyValue::set();
    if (g.find("frozenset") != std::string::npos) s->name = "frozenset";
    if (!a.empty() && (a[0]->is_sequence() || a[0]->kind == PyValue::Kind::Set)) s->items = a[0]->items;
    return s;
  }
  if (g == "_codecs.encode" && a.size() == 2 && a[0]->is_str() && a[1]->is_str() &&
      (a[1]->str == "latin1" || a[1]->str == "latin-1")) {
    std::string raw;
    if (!utf8_to_latin1(a[0]->str, raw)) fail("_codecs.encode: text is not Latin-1");
    return PyValue::bytes(raw);
  }
  if (g == "builtins.bytes" || g == "__builtin__.bytes" || g == "builtins.bytearray" ||
      g == "__builtin__.bytearray") {
    auto r = PyValue::bytes("");
    if (g.find("bytearray") != std::string::npos) r->name = "bytearray";
    if (a.empty()) return r;
    if (a[0]->kind == PyValue::Kind::Bytes) {
      r->str = a[0]->str;
      return r;
    }
    if (a[0]->is_str() && a.size() == 2 && utf8_to_latin1(a[0]->str, r->str)) return r;
    if (a[0]->is_sequence()) {
      for (const auto& x : a[0]->items) r->str += static_cast<char>(x->as_int());
      return r;
    }
  }
  if ((g == "copyreg._reconstructor" || g == "copy_reg._reconstructor") && a.size() == 3 &&
      a[0]->kind == PyValue::Kind::Global) {
    // object.__reduce_ex__(<2): "create an empty instance of this class"
    auto o = std::make_shared<PyValue>();
    o->kind = PyValue::Kind::Object;
    o->name = a[0]->name;
    o->args = PyValue::tuple();
    return o;
  }
  auto o = std::make_shared<PyValue>();
  o->kind = PyValue::Kind::Object;
  o->name = g;
  o->args = args;
  return o;
}

void Unpickler::build(const PyRef& obj, const PyRef& state) {
  // Python calls __setstate__ or updates __dict__; we only record the state.
  // A second BUILD (rare) merges dict states, as __dict__.update would.
  if (obj->state && obj->state->is_dict() && state->is_dict()) {
    for (const auto& kv : state->entries) obj->state->set_item(kv.first, kv.second);
    return;
  }
  obj->state = state;
}

void Unpickler::append_items(const PyRef& target, std::vector<PyRef> items) {
  if (target->kind == PyValue::Kind::List || target->kind == PyValue::Kind::Object) {
    auto& dst = target->kind == PyValue::Kind::List ? target->items : target->appended;
    for (auto& v : items) dst.push_back(std::move(v));
    return;
  }
  fail("cannot append to a " + target->type_name());
}

void Unpickler::set_items(const PyRef& target, std::vector<PyRef> kv) {
  if (kv.size() % 2) fail("odd number of items for a dict");
  // Objects accept items too: dict subclasses pickle their content this way.
  if (target->kind != PyValue::Kind::Dict && target->kind != PyValue::Kind::Object)
    fail("cannot set items on a " + target->type_name());
  for (size_t k = 0; k < kv.size(); k += 2) target->set_item(kv[k], kv[k + 1]);
}

PyRef Unpickler::load() {
  stack_.clear();
  marks_.clear();
  memo_.clear();
  for (;;) {
    op_pos_ = pos_;
    op_ = 0;
    if (pos_ >= size_) {
      op_pos_ = pos_;
      throw RuntimeError("pickle " + options_.source + ": truncated input at byte " + std::to_string(pos_) +
                         " (no STOP opcode)");
    }
    op_ = data_[pos_++];
    switch (op_) {
      case op::PROTO: {
        uint8_t v = u8();
        if (v > 5) fail("unsupported protocol " + std::to_string(v));
        break;
      }
      case op::FRAME: le(8); break;  // framing is only a read-ahead hint
      case op::STOP: {
        PyRef result = pop();
        return result;
      }
      case op::MARK: marks_.push_back(stack_.size()); break;
      case op::POP:
        if (!marks_.empty() && stack_.size() == marks_.back())
          marks_.pop_back();  // CPython: POP on an empty frame discards the mark
        else
          pop();
        break;
      case op::POP_MARK: pop_mark(); break;
      case op::DUP: stack_.push_back(top()); break;

      case op::NONE: stack_.push_back(PyValue::none()); break;
      case op::NEWTRUE: stack_.push_back(PyValue::boolean(true)); break;
      case op::NEWFALSE: stack_.push_back(PyValue::boolean(false)); break;
      case op::INT: {
        std::string s = line();
        if (s == "01" || s == "00") {  // protocol 0 booleans
          stack_.push_back(PyValue::boolean(s == "01"));
          break;
        }
        PyRef v;
        if (!int_from_decimal(s, v)) fail("bad integer '" + s + "'");
        stack_.push_back(v);
        break;
      }
      case op::LONG: {
        std::string s = line();
        PyRef v;
        if (!int_from_decimal(s, v)) fail("bad integer '" + s + "'");
        stack_.push_back(v);
        break;
      }
      case op::BININT: stack_.push_back(PyValue::integer(static_cast<int32_t>(le(4)))); break;
      case op::BININT1: stack_.push_back(PyValue::integer(u8())); break;
      case op::BININT2: stack_.push_back(PyValue::integer(static_cast<int64_t>(le(2)))); break;
      case op::LONG1:
      case op::LONG4: {
        uint64_t n = op_ == op::LONG1 ? u8() : le(4);
        if (op_ == op::LONG4 && (n & 0x80000000u)) fail("negative byte count");
        const uint8_t* p = take(n);
        stack_.push_back(int_from_le_bytes(p, n));
        break;
      }
      case op::FLOAT: {
        std::string s = line();
        char* end = nullptr;
        double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size()) fail("bad float '" + s + "'");
        stack_.push_back(PyValue::floating(v));
        break;
      }
      case op::BINFLOAT: {
        const uint8_t* p = take(8);  // big-endian IEEE 754
        uint64_t u = 0;
        for (int k = 0; k < 8; ++k) u = (u << 8) | p[k];
        double v;
        std::memcpy(&v, &u, 8);
        stack_.push_back(PyValue::floating(v));
        break;
      }

      case op::STRING: {
        std::string s = line();
        if (s.size() < 2 || (s[0] != '\'' && s[0] != '"') || s.back() != s[0]) fail("bad quoted string");
        std::string raw;
        for (size_t k = 1; k + 1 < s.size(); ++k) {
          char c = s[k];
          if (c != '\\') {
            raw += c;
            continue;
          }
          if (++k >= s.size() - 1) fail("bad escape in quoted string");
          char e = s[k];
          switch (e) {
            case 'n': raw += '\n'; break;
            case 't': raw += '\t'; break;
            case 'r': raw += '\r'; break;
            case 'a': raw += '\a'; break;
            case 'b': raw += '\b'; break;
            case 'f': raw += '\f'; break;
            case 'v': raw += '\v'; break;
            case '\\': raw += '\\'; break;
            case '\'': raw += '\''; break;
            case '"': raw += '"'; break;
            case 'x': {
              if (k + 2 >= s.size() - 1 || hex_value(s[k + 1]) < 0 || hex_value(s[k + 2]) < 0)
                fail("bad \\x escape in quoted string");
              raw += static_cast<char>(hex_value(s[k + 1]) * 16 + hex_value(s[k + 2]));
              k += 2;
              break;
            }
            default:
              if (e >= '0' && e <= '7') {
                int v = 0, digits = 0;
                while (digits < 3 && k < s.size() - 1 && s[k] >= '0' && s[k] <= '7') {
                  v = v * 8 + (s[k++] - '0');
                  ++digits;
                }
                --k;
                raw += static_cast<char>(v);
              } else {
                raw += '\\';
                raw += e;
              }
          }
        }
        stack_.push_back(PyValue::string(py2_str_to_utf8(raw)));
        break;
      }
      case op::BINSTRING:
      case op::SHORT_BINSTRING: {
        uint64_t n = op_ == op::SHORT_BINSTRING ? u8() : le(4);
        if (op_ == op::BINSTRING && (n & 0x80000000u)) fail("negative byte count");
        const uint8_t* p = take(n);
        stack_.push_back(PyValue::string(py2_str_to_utf8(std::string(reinterpret_cast<const char*>(p), n))));
        break;
      }
      case op::UNICODE: {
        // raw-unicode-escape: \uXXXX and \UXXXXXXXX escapes, every other byte is Latin-1
        std::string s = line(), out;
        for (size_t k = 0; k < s.size(); ++k) {
          unsigned char c = s[k];
          if (c == '\\' && k + 1 < s.size() && (s[k + 1] == 'u' || s[k + 1] == 'U')) {
            size_t digits = s[k + 1] == 'u' ? 4 : 8;
            if (k + 1 + digits >= s.size()) fail("bad \\u escape");
            uint32_t cp = 0;
            for (size_t d = 0; d < digits; ++d) {
              int h = hex_value(s[k + 2 + d]);
              if (h < 0) fail("bad \\u escape");
              cp = cp * 16 + static_cast<uint32_t>(h);
            }
            text::unicode::append_utf8(out, static_cast<char32_t>(cp));
            k += 1 + digits;
          } else {
            text::unicode::append_utf8(out, static_cast<char32_t>(c));
          }
        }
        stack_.push_back(PyValue::string(out));
        break;
      }
      case op::BINUNICODE:
      case op::SHORT_BINUNICODE:
      case op::BINUNICODE8: {
        uint64_t n = op_ == op::SHORT_BINUNICODE ? u8() : op_ == op::BINUNICODE ? le(4) : le(8);
        const uint8_t* p = take(n);
        stack_.push_back(PyValue::string(std::string(reinterpret_cast<const char*>(p), n)));
        break;
      }
      case op::BINBYTES:
      case op::SHORT_BINBYTES:
      case op::BINBYTES8:
      case op::BYTEARRAY8: {
        uint64_t n = op_ == op::SHORT_BINBYTES ? u8() : op_ == op::BINBYTES ? le(4) : le(8);
        const uint8_t* p = take(n);
        auto b = PyValue::bytes(std::string(reinterpret_cast<const char*>(p), n));
        if (op_ == op::BYTEARRAY8) b->name = "bytearray";
        stack_.push_back(b);
        break;
      }

      case op::EMPTY_LIST: stack_.push_back(PyValue::list()); break;
      case op::LIST: stack_.push_back(PyValue::list(pop_mark())); break;
      case op::APPEND: {
        PyRef v = pop();
        append_items(top(), {v});
        break;
      }
      case op::APPENDS: {
        auto items = pop_mark();
        append_items(top(), std::move(items));
        break;
      }
      case op::EMPTY_TUPLE: stack_.push_back(PyValue::tuple()); break;
      case op::TUPLE: stack_.push_back(PyValue::tuple(pop_mark())); break;
      case op::TUPLE1:
      case op::TUPLE2:
      case op::TUPLE3: {
        size_t n = op_ - op::TUPLE1 + 1;
        std::vector<PyRef> items(n);
        for (size_t k = n; k-- > 0;) items[k] = pop();
        stack_.push_back(PyValue::tuple(std::move(items)));
        break;
      }
      case op::EMPTY_DICT: stack_.push_back(PyValue::dict()); break;
      case op::DICT: {
        auto kv = pop_mark();
        auto d = PyValue::dict();
        set_items(d, std::move(kv));
        stack_.push_back(d);
        break;
      }
      case op::SETITEM: {
        PyRef v = pop();
        PyRef k = pop();
        set_items(top(), {k, v});
        break;
      }
      case op::SETITEMS: {
        auto kv = pop_mark();
        set_items(top(), std::move(kv));
        break;
      }
      case op::EMPTY_SET: stack_.push_back(PyValue::set()); break;
      case op::ADDITEMS: {
        auto items = pop_mark();
        PyRef& s = top();
        if (s->kind != PyValue::Kind::Set) fail("cannot add items to a " + s->type_name());
        for (auto& v : items) s->items.push_back(std::move(v));
        break;
      }
      case op::FROZENSET: {
        auto s = PyValue::set(pop_mark());
        s->name = "frozenset";
        stack_.push_back(s);
        break;
      }

      case op::PUT: {
        std::string s = line();
        char* end = nullptr;
        unsigned long long idx = std::strtoull(s.c_str(), &end, 10);
        if (s.empty() || *end) fail("bad memo index '" + s + "'");
        memo_[idx] = top();
        break;
      }
      case op::BINPUT: {
        uint64_t idx = u8();
        memo_[idx] = top();
        break;
      }
      case op::LONG_BINPUT: {
        uint64_t idx = le(4);
        memo_[idx] = top();
        break;
      }
      case op::MEMOIZE: {
        uint64_t idx = memo_.size();
        memo_[idx] = top();
        break;
      }
      case op::GET:
      case op::BINGET:
      case op::LONG_BINGET: {
        uint64_t idx = 0;
        if (op_ == op::GET) {
          std::string s = line();
          char* end = nullptr;
          idx = std::strtoull(s.c_str(), &end, 10);
          if (s.empty() || *end) fail("bad memo index '" + s + "'");
        } else {
          idx = op_ == op::BINGET ? u8() : le(4);
        }
        auto it = memo_.find(idx);
        if (it == memo_.end()) fail("memo index " + std::to_string(idx) + " was never stored");
        stack_.push_back(it->second);
        break;
      }

      case op::GLOBAL: {
        std::string module = line();
        std::string name = line();
        stack_.push_back(PyValue::global(module + "." + name));
        break;
      }
      case op::STACK_GLOBAL: {
        PyRef name = pop();
        PyRef module = pop();
        if (!name->is_str() || !module->is_str()) fail("module and name must be strings");
        stack_.push_back(PyValue::global(module->str + "." + name->str));
        break;
      }
      case op::REDUCE: {
        PyRef args = pop();
        PyRef callable = pop();
        stack_.push_back(reduce(callable, args));
        break;
      }
      case op::NEWOBJ:
      case op::NEWOBJ_EX: {
        PyRef kwargs = op_ == op::NEWOBJ_EX ? pop() : nullptr;
        PyRef args = pop();
        PyRef cls = pop();
        if (cls->kind != PyValue::Kind::Global) fail("class is a " + cls->type_name() + ", not a global");
        PyRef o = reduce(cls, args);
        if (kwargs && o->kind == PyValue::Kind::Object) o->kwargs = kwargs;
        stack_.push_back(o);
        break;
      }
      case op::INST: {
        std::string module = line();
        std::string name = line();
        auto args = PyValue::tuple(pop_mark());
        stack_.push_back(reduce(PyValue::global(module + "." + name), args));
        break;
      }
      case op::OBJ: {
        auto items = pop_mark();
        if (items.empty()) fail("no class on the stack");
        PyRef cls = items.front();
        items.erase(items.begin());
        stack_.push_back(reduce(cls, PyValue::tuple(std::move(items))));
        break;
      }
      case op::BUILD: {
        PyRef state = pop();
        build(top(), state);
        break;
      }
      case op::PERSID:
      case op::BINPERSID: {
        PyRef pid = op_ == op::PERSID ? PyValue::string(line()) : pop();
        if (options_.persistent_load) {
          PyRef v = options_.persistent_load(pid);
          if (!v) fail("persistent_load returned nothing for " + pid->repr(3));
          stack_.push_back(v);
        } else {
          auto o = std::make_shared<PyValue>();
          o->kind = PyValue::Kind::Object;
          o->name = "__persistent_id__";
          o->args = PyValue::tuple({pid});
          stack_.push_back(o);
        }
        break;
      }

      case op::EXT1:
      case op::EXT2:
      case op::EXT4: fail("extension registry codes (copyreg.add_extension) are not supported");
      case op::NEXT_BUFFER:
      case op::READONLY_BUFFER: fail("out-of-band buffers (protocol 5 buffer_callback) are not supported");
      default: fail("unknown opcode");
    }
  }
}

PyRef loads(const std::string& bytes, const UnpicklerOptions& options) {
  Unpickler u(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options);
  return u.load();
}

PyRef load_file(const std::string& path, UnpicklerOptions options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuntimeError("pickle '" + path + "': cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  if (options.source == "<pickle>") options.source = path;
  return loads(bytes, options);
}

}  // namespace seer::pickle
