#include "data/xml_tree.h"

#include "text/unicode.h"

#include <cctype>
#include <cstring>

namespace seer {

const XmlElement* XmlElement::child(const std::string& n) const {
  for (const auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::vector<const XmlElement*> XmlElement::children_named(const std::string& n) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children)
    if (c.name == n) out.push_back(&c);
  return out;
}

namespace {

// Deep enough for any annotation file; bounds the recursion on hostile input.
constexpr int kMaxDepth = 256;

using text::unicode::append_utf8;

bool is_name_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == ':' || u >= 0x80;
}

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  XmlError run(XmlElement& root) {
    if (s_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
    if (skip_misc()) {
      if (pos_ >= s_.size() || s_[pos_] != '<') {
        fail(pos_ >= s_.size() ? "no root element" : "text before the root element");
      } else if (element(root, 0) && skip_misc() && pos_ < s_.size()) {
        fail("content after the root element </" + root.name + ">");
      }
    }
    return err_;
  }

 private:
  bool fail(const std::string& problem) {
    if (err_.problem.empty()) err_ = {line_, problem};
    return false;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  bool starts(const char* lit) const { return s_.compare(pos_, std::strlen(lit), lit) == 0; }
  void advance(size_t n) {
    for (size_t k = 0; k < n && pos_ < s_.size(); ++k)
      if (s_[pos_++] == '\n') ++line_;
  }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(s_[pos_]))) advance(1);
  }
  // Move past the next `close`; fail naming `what` when there is none.
  bool skip_past(const char* close, const std::string& what) {
    size_t e = s_.find(close, pos_);
    if (e == std::string::npos) return fail("unterminated " + what);
    advance(e + std::strlen(close) - pos_);
    return true;
  }
  // Whitespace, comments, processing instructions and a DOCTYPE between elements.
  bool skip_misc() {
    for (;;) {
      skip_space();
      if (starts("<?")) {
        if (!skip_past("?>", "processing instruction '<?'")) return false;
      } else if (starts("<!--")) {
        if (!skip_past("-->", "comment '<!--'")) return false;
      } else if (starts("<!DOCTYPE")) {
        size_t bracket = s_.find('[', pos_), close = s_.find('>', pos_);
        if (bracket != std::string::npos && bracket < close && !skip_past("]", "DOCTYPE")) return false;
        if (!skip_past(">", "DOCTYPE")) return false;
      } else {
        return true;
      }
    }
  }
  bool read_name(std::string& out) {
    size_t b = pos_;
    while (!at_end() && is_name_char(s_[pos_])) ++pos_;
    out = s_.substr(b, pos_ - b);
    return !out.empty();
  }
  // `&...;` at pos_, decoded onto `out`.
  bool entity(std::string& out) {
    size_t semi = s_.find(';', pos_);
    if (semi == std::string::npos || semi - pos_ > 12) return fail("'&' that starts no entity (write &amp;)");
    std::string name = s_.substr(pos_ + 1, semi - pos_ - 1);
    if (name == "lt") out += '<';
    else if (name == "gt") out += '>';
    else if (name == "amp") out += '&';
    else if (name == "quot") out += '"';
    else if (name == "apos") out += '\'';
    else if (name.size() > 1 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      std::string digits = name.substr(hex ? 2 : 1);
      if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos ||
          digits.size() > 7)
        return fail("malformed character reference &" + name + ";");
      uint32_t cp = static_cast<uint32_t>(std::stoul(digits, nullptr, hex ? 16 : 10));
      if (cp == 0 || cp > 0x10FFFF) return fail("character reference &" + name + "; out of range");
      append_utf8(out, cp);
    } else {
      return fail("unknown entity &" + name + ";");
    }
    advance(semi + 1 - pos_);
    return true;
  }
  // An element starting at '<' (pos_), through its end tag.
  bool element(XmlElement& e, int depth) {
    if (depth > kMaxDepth) return fail("elements nested deeper than " + std::to_string(kMaxDepth));
    e.line = line_;
    advance(1);
    if (!read_name(e.name)) return fail("expected an element name after '<'");
    // attributes: name="value" or name='value', read past
    for (;;) {
      skip_space();
      if (at_end()) return fail("start tag <" + e.name + "> is not closed");
      if (starts("/>")) {
        advance(2);
        return true;
      }
      if (s_[pos_] == '>') {
        advance(1);
        break;
      }
      std::string attr;
      if (!read_name(attr)) return fail("malformed attribute in <" + e.name + ">");
      skip_space();
      if (at_end() || s_[pos_] != '=') return fail("attribute '" + attr + "' of <" + e.name + "> has no value");
      advance(1);
      skip_space();
      if (at_end() || (s_[pos_] != '"' && s_[pos_] != '\''))
        return fail("attribute '" + attr + "' of <" + e.name + "> is not quoted");
      const char quote[2] = {s_[pos_], 0};
      advance(1);
      if (!skip_past(quote, "attribute '" + attr + "' of <" + e.name + ">")) return false;
    }
    // content
    for (;;) {
      if (at_end())
        return fail("element <" + e.name + "> opened on line " + std::to_string(e.line) + " is not closed");
      if (starts("</")) {
        advance(2);
        std::string name;
        read_name(name);
        if (name != e.name)
          return fail("end tag </" + name + "> does not match <" + e.name + "> opened on line " + std::to_string(e.line));
        skip_space();
        if (at_end() || s_[pos_] != '>') return fail("end tag </" + name + "> is not closed");
        advance(1);
        return true;
      }
      if (starts("<!--")) {
        if (!skip_past("-->", "comment '<!--'")) return false;
      } else if (starts("<![CDATA[")) {
        size_t b = pos_ + 9, end = s_.find("]]>", b);
        if (end == std::string::npos) return fail("unterminated CDATA section");
        e.text.append(s_, b, end - b);
        advance(end + 3 - pos_);
      } else if (starts("<?")) {
        if (!skip_past("?>", "processing instruction '<?'")) return false;
      } else if (s_[pos_] == '<') {
        e.children.emplace_back();
        if (!element(e.children.back(), depth + 1)) return false;
      } else if (s_[pos_] == '&') {
        if (!entity(e.text)) return false;
      } else {
        e.text += s_[pos_];
        advance(1);
      }
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  XmlError err_;
};

}  // namespace

XmlError parse_xml(const std::string& text, XmlElement& root) {
  root = XmlElement();
  return Parser(text).run(root);
}

}  // namespace seer
