#pragma once
// The Unicode facts the tokenizers need, probed from the reference Python code
// (see make_unicode_table.py, which generates unicode_data.cpp). Torch-free.
//
// Text enters as UTF-8 and is decoded into code points that remember the byte
// range they came from, so that every later step (cleanup, lower-casing, NFD,
// HTML unescaping) can carry token offsets back to the ORIGINAL text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seer::text::unicode {

// Bits of flags(cp); the generator writes the same values.
enum Flag : uint16_t {
  kBertWhitespace = 1 << 0,  // ' ', \t, \n, \r or category Zs
  kBertControl = 1 << 1,     // category Cc/Cf other than \t \n \r
  kBertPunct = 1 << 2,       // non-alphanumeric ASCII or category P*
  kMn = 1 << 3,              // nonspacing mark (dropped when stripping accents)
  kPySpace = 1 << 4,         // str.isspace(): what str.split()/strip() and re's \s use
  kRxSpace = 1 << 5,         // the `regex` module's \s
  kRxLetter = 1 << 6,        // regex [\p{L}] under IGNORECASE
  kRxNumber = 1 << 7,        // regex [\p{N}] under IGNORECASE
  kCased = 1 << 8,           // Cased (as CPython's Final_Sigma test sees it)
  kCaseIgnorable = 1 << 9,   // Case_Ignorable (idem)
  kRxOther = 1 << 10,        // regex [^\s\p{L}\p{N}] under IGNORECASE; not the complement of
                             // the three above (U+0345 is in none of them: the reference skips it)
};

uint16_t flags(char32_t cp);
inline bool has(char32_t cp, Flag f) { return (flags(cp) & f) != 0; }

// A code point and the byte range [begin, end) of the original text it stems from.
struct Char {
  char32_t cp;
  int32_t begin;
  int32_t end;
};

// Strict UTF-8 decoding (no overlongs, surrogates or values above U+10FFFF).
// Throws seer::DataError naming `what` and the byte offset of the first bad byte.
std::vector<Char> decode_utf8(std::string_view text, const std::string& what = "text");
void append_utf8(std::string& out, char32_t cp);
std::string to_utf8(const std::vector<Char>& chars, size_t begin, size_t end);

// Python str.lower() of a whole string, including the Final_Sigma rule for U+03A3.
// Each produced code point keeps the span of the code point it came from.
std::vector<Char> lower(const std::vector<Char>& s);

// unicodedata.normalize("NFD"): full canonical decomposition + canonical ordering.
std::vector<Char> nfd(const std::vector<Char>& s);

// The ASCII lower-case letter cp matches under regex IGNORECASE ('\0' when none).
char fold_ascii(char32_t cp);

// The BERT "Chinese character" ranges (CJK ideograph blocks only).
bool is_cjk(char32_t cp);

// html.unescape() as Python's html module defines it (HTML5 rules, invalid
// numeric references mapped or dropped); replacement text carries the span of the
// character reference it replaces.
std::vector<Char> html_unescape(const std::vector<Char>& s);

// ---- generated tables (unicode_data.cpp) ----
namespace data {
struct FlagRun { uint32_t start; uint16_t flags; };
struct LowerEntry { uint32_t cp; uint32_t to[3]; };
struct DecompEntry { uint32_t cp; uint32_t offset; uint32_t length; };
struct CccEntry { uint32_t cp; uint8_t ccc; };
struct FoldEntry { uint32_t cp; char ascii; };
struct Entity { const char* name; const char* value; };
struct InvalidCharref { uint32_t num; const char* value; };
extern const FlagRun kFlagRuns[];
extern const size_t kNumFlagRuns;
extern const LowerEntry kLower[];
extern const size_t kNumLower;
extern const DecompEntry kDecomp[];
extern const size_t kNumDecomp;
extern const char32_t kDecompPool[];
extern const CccEntry kCcc[];
extern const size_t kNumCcc;
extern const FoldEntry kFoldAscii[];
extern const size_t kNumFoldAscii;
extern const Entity kHtml5[];
extern const size_t kNumHtml5;
extern const InvalidCharref kInvalidCharrefs[];
extern const size_t kNumInvalidCharrefs;
extern const uint32_t kInvalidCodepoints[];
extern const size_t kNumInvalidCodepoints;
}  // namespace data

}  // namespace seer::text::unicode
