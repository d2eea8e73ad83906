#include "text/text_util.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace seer::text {

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open " + what + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw DataError("cannot read " + what);
  return ss.str();
}

std::string preview(const std::string& text) {
  // At most 40 characters; control characters and bytes that are not valid UTF-8
  // are written as \xNN so that the message stays one valid line.
  static const char* hex = "0123456789abcdef";
  std::string out = "'";
  size_t i = 0, chars = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  while (i < text.size() && chars < 40) {
    const unsigned char b = s[i];
    size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (s[i + k] & 0xC0) == 0x80;
    if (ok && ((b >= 0x20 && b != 0x7F) || len > 1)) {
      out.append(text, i, len);
      i += len;
    } else {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 15];
      ++i;
    }
    ++chars;
  }
  return out + (i < text.size() ? "...'" : "'");
}

int64_t fit_to_length(std::vector<Piece>& a, std::vector<Piece>& b, int num_seqs, int64_t specials,
                      const EncodeOptions& options, const std::string& what) {
  const int64_t total = static_cast<int64_t>(a.size() + b.size()) + specials;
  const int64_t max_len = options.max_length;
  if (max_len <= 0 || total <= max_len) return 0;
  const std::string head = what + " has " + std::to_string(total) + " tokens (special tokens included), more than max_length " +
                           std::to_string(max_len);
  if (options.truncation == Truncation::kNone)
    throw DataError(head + "; enable truncation to drop the excess");
  if (max_len < specials)
    throw DataError(head + ", which cannot even hold the " + std::to_string(specials) + " special tokens");
  int64_t excess = total - max_len;
  switch (options.truncation) {
    case Truncation::kLongestFirst:
      // One token at a time from the longer sequence (the second on ties), as
      // BERT's _truncate_seq_pair and Hugging Face's longest_first do.
      for (; excess > 0; --excess) {
        if (a.size() > b.size()) a.pop_back();
        else b.pop_back();
      }
      break;
    case Truncation::kOnlyFirst:
    case Truncation::kOnlySecond: {
      const bool first = options.truncation == Truncation::kOnlyFirst;
      if (!first && num_seqs < 2) throw DataError(head + "; truncation 'only_second' needs a text pair");
      std::vector<Piece>& s = first ? a : b;
      if (static_cast<int64_t>(s.size()) < excess)
        throw DataError(head + "; the " + (first ? "first" : "second") + " text has only " + std::to_string(s.size()) +
                        " tokens to drop");
      s.resize(s.size() - static_cast<size_t>(excess));
      break;
    }
    case Truncation::kNone:
      break;
  }
  return total - max_len;
}

}  // namespace seer::text
