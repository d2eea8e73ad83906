#include "text/unicode.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace seer::text::unicode {

namespace {

uint16_t flags_slow(char32_t cp) {
  // Last run starting at or before cp.
  const auto* end = data::kFlagRuns + data::kNumFlagRuns;
  const auto* it = std::upper_bound(data::kFlagRuns, end, static_cast<uint32_t>(cp),
                                    [](uint32_t v, const data::FlagRun& r) { return v < r.start; });
  return it == data::kFlagRuns ? 0 : (it - 1)->flags;
}

// The Basic Multilingual Plane, expanded once: nearly all text lives there.
const std::vector<uint16_t>& bmp_flags() {
  static const std::vector<uint16_t> table = [] {
    std::vector<uint16_t> t(0x10000);
    size_t r = 0;
    for (uint32_t cp = 0; cp < 0x10000; ++cp) {
      while (r + 1 < data::kNumFlagRuns && data::kFlagRuns[r + 1].start <= cp) ++r;
      t[cp] = data::kFlagRuns[r].flags;
    }
    return t;
  }();
  return table;
}

template <class Entry>
const Entry* find_cp(const Entry* table, size_t n, char32_t cp) {
  const Entry* end = table + n;
  const Entry* it = std::lower_bound(table, end, static_cast<uint32_t>(cp),
                                     [](const Entry& e, uint32_t v) { return e.cp < v; });
  return (it != end && it->cp == cp) ? it : nullptr;
}

uint8_t combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* e = find_cp(data::kCcc, data::kNumCcc, cp);
  return e ? e->ccc : 0;
}

bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_ascii_hex(char32_t c) { return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

const char* html5_lookup(const std::string& name) {
  const auto* end = data::kHtml5 + data::kNumHtml5;
  const auto* it = std::lower_bound(data::kHtml5, end, name, [](const data::Entity& e, const std::string& v) {
    return std::strcmp(e.name, v.c_str()) < 0;
  });
  return (it != end && name == it->name) ? it->value : nullptr;
}

// Appends the UTF-8 string `value` as code points carrying span [begin, end).
void append_value(std::vector<Char>& out, const char* value, int32_t begin, int32_t end) {
  for (const Char& c : decode_utf8(value, "HTML entity table")) out.push_back({c.cp, begin, end});
}

}  // namespace

uint16_t flags(char32_t cp) {
  if (cp < 0x10000) return bmp_flags()[cp];
  return flags_slow(cp);
}

std::vector<Char> decode_utf8(std::string_view text, const std::string& what) {
  std::vector<Char> out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  auto bad = [&](size_t at) {
    throw DataError(what + ": invalid UTF-8 at byte " + std::to_string(at) + " (byte 0x" +
                    "0123456789abcdef"[s[at] >> 4] + "0123456789abcdef"[s[at] & 15] + ")");
  };
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back({b, static_cast<int32_t>(i), static_cast<int32_t>(i + 1)});
      ++i;
      continue;
    }
    size_t len;
    char32_t cp, min;
    if ((b & 0xE0) == 0xC0) len = 2, cp = b & 0x1F, min = 0x80;
    else if ((b & 0xF0) == 0xE0) len = 3, cp = b & 0x0F, min = 0x800;
    else if ((b & 0xF8) == 0xF0) len = 4, cp = b & 0x07, min = 0x10000;
    else bad(i);
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) bad(i + k < n ? i + k : i);
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) bad(i);
    out.push_back({cp, static_cast<int32_t>(i), static_cast<int32_t>(i + len)});
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string to_utf8(const std::vector<Char>& chars, size_t begin, size_t end) {
  std::string s;
  for (size_t i = begin; i < end; ++i) append_utf8(s, chars[i].cp);
  return s;
}

std::vector<Char> lower(const std::vector<Char>& s) {
  std::vector<Char> out;
  out.reserve(s.size());
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    const Char c = s[i];
    if (c.cp < 0x80) {
      out.push_back({(c.cp >= 'A' && c.cp <= 'Z') ? c.cp + 32 : c.cp, c.begin, c.end});
    } else if (c.cp == 0x3A3) {
      // CPython's Final_Sigma: a cased letter before (skipping case-ignorables) and
      // none after makes the capital sigma final.
      size_t j = i;
      char32_t prev = 0;
      bool found = false;
      while (j > 0) {
        --j;
        if (!has(s[j].cp, kCaseIgnorable)) { prev = s[j].cp; found = true; break; }
      }
      bool final_sigma = found && has(prev, kCased);
      if (final_sigma && i + 1 < n) {
        size_t k = i + 1;
        while (k < n && has(s[k].cp, kCaseIgnorable)) ++k;
        final_sigma = k == n || !has(s[k].cp, kCased);
      }
      out.push_back({final_sigma ? char32_t(0x3C2) : char32_t(0x3C3), c.begin, c.end});
    } else if (const auto* e = find_cp(data::kLower, data::kNumLower, c.cp)) {
      for (uint32_t t : e->to)
        if (t) out.push_back({t, c.begin, c.end});
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<Char> nfd(const std::vector<Char>& s) {
  std::vector<Char> out;
  out.reserve(s.size() + 4);
  for (const Char& c : s) {
    if (c.cp < 0xC0) {
      out.push_back(c);
    } else if (c.cp >= 0xAC00 && c.cp <= 0xD7A3) {
      // Hangul syllables: the algorithmic decomposition of the Unicode standard.
      const char32_t si = c.cp - 0xAC00;
      out.push_back({char32_t(0x1100 + si / 588), c.begin, c.end});
      out.push_back({char32_t(0x1161 + (si % 588) / 28), c.begin, c.end});
      if (si % 28) out.push_back({char32_t(0x11A7 + si % 28), c.begin, c.end});
    } else if (const auto* e = find_cp(data::kDecomp, data::kNumDecomp, c.cp)) {
      for (uint32_t k = 0; k < e->length; ++k) out.push_back({data::kDecompPool[e->offset + k], c.begin, c.end});
    } else {
      out.push_back(c);
    }
  }
  // Canonical ordering: stable sort of every run of non-starters by combining class.
  for (size_t i = 0; i < out.size();) {
    if (combining_class(out[i].cp) == 0) { ++i; continue; }
    size_t j = i;
    while (j < out.size() && combining_class(out[j].cp) != 0) ++j;
    if (j - i > 1)
      std::stable_sort(out.begin() + i, out.begin() + j,
                       [](const Char& a, const Char& b) { return combining_class(a.cp) < combining_class(b.cp); });
    i = j;
  }
  return out;
}

char fold_ascii(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? char(cp + 32) : char(cp);
  const auto* e = find_cp(data::kFoldAscii, data::kNumFoldAscii, cp);
  return e ? e->ascii : '\0';
}

bool is_cjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::vector<Char> html_unescape(const std::vector<Char>& s) {
  // Python: re.sub(r'&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)', ...)
  std::vector<Char> out;
  out.reserve(s.size());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (s[i].cp != '&' || i + 1 >= n) { out.push_back(s[i++]); continue; }
    const int32_t begin = s[i].begin;
    size_t j = i + 1;
    if (s[j].cp == '#') {
      bool hex = false;
      size_t k = j + 1;
      if (k < n && is_ascii_digit(s[k].cp)) {
      } else if (k + 1 < n && (s[k].cp == 'x' || s[k].cp == 'X') && is_ascii_hex(s[k + 1].cp)) {
        hex = true;
        ++k;
      } else {
        out.push_back(s[i++]);  // "&#" without digits is no reference
        continue;
      }
      // Saturate: anything above U+10FFFF behaves the same.
      uint64_t num = 0;
      while (k < n && (hex ? is_ascii_hex(s[k].cp) : is_ascii_digit(s[k].cp))) {
        const char32_t c = s[k].cp;
        const uint64_t d = is_ascii_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
        num = std::min<uint64_t>(num * (hex ? 16 : 10) + d, 0x7FFFFFFF);
        ++k;
      }
      if (k < n && s[k].cp == ';') ++k;
      const int32_t end = s[k - 1].end;
      const auto* inv = std::find_if(data::kInvalidCharrefs, data::kInvalidCharrefs + data::kNumInvalidCharrefs,
                                     [&](const data::InvalidCharref& r) { return r.num == num; });
      if (inv != data::kInvalidCharrefs + data::kNumInvalidCharrefs) {
        append_value(out, inv->value, begin, end);
      } else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        out.push_back({0xFFFD, begin, end});
      } else if (std::binary_search(data::kInvalidCodepoints, data::kInvalidCodepoints + data::kNumInvalidCodepoints,
                                    static_cast<uint32_t>(num))) {
        // dropped
      } else {
        out.push_back({static_cast<char32_t>(num), begin, end});
      }
      i = k;
      continue;
    }
    // Named reference: up to 32 characters that cannot end one, then an optional ';'.
    auto name_char = [](char32_t c) {
      return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' && c != ';';
    };
    size_t k = j;
    while (k < n && k - j < 32 && name_char(s[k].cp)) ++k;
    if (k == j) { out.push_back(s[i++]); continue; }
    if (k < n && s[k].cp == ';') ++k;
    const std::string name = to_utf8(s, j, k);
    if (const char* v = html5_lookup(name)) {
      append_value(out, v, begin, s[k - 1].end);
    } else {
      // The longest prefix (at least 2 characters) that is an entity, then the rest as is.
      bool done = false;
      for (size_t x = k - j - 1; x >= 2; --x) {
        if (const char* v2 = html5_lookup(to_utf8(s, j, j + x))) {
          append_value(out, v2, begin, s[j + x - 1].end);
          out.insert(out.end(), s.begin() + j + x, s.begin() + k);
          done = true;
          break;
        }
      }
      if (!done) out.insert(out.end(), s.begin() + i, s.begin() + k);
    }
    i = k;
  }
  return out;
}

}  // namespace seer::text::unicode
