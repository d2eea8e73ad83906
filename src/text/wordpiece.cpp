#include "text/wordpiece.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "text/text_util.h"
#include "text/unicode.h"

namespace seer::text {

using unicode::Char;

WordPieceTokenizer::WordPieceTokenizer(const std::string& vocab_file, WordPieceOptions options)
    : options_(std::move(options)) {
  const std::string what = "BERT vocabulary '" + vocab_file + "'";
  const std::string content = read_file(vocab_file, what);
  // Python's text-mode readline(): lines end at \n, \r\n or \r; each is strip()ped
  // and its id is its line number. A repeated token keeps its last id, as the
  // reference's dict assignment does.
  size_t pos = 0, line_no = 0;
  while (pos < content.size()) {
    size_t eol = content.find_first_of("\r\n", pos);
    if (eol == std::string::npos) eol = content.size();
    const std::string line = content.substr(pos, eol - pos);
    pos = eol;
    if (pos < content.size()) pos += (content[pos] == '\r' && pos + 1 < content.size() && content[pos + 1] == '\n') ? 2 : 1;
    ++line_no;
    const auto chars = unicode::decode_utf8(line, what + " line " + std::to_string(line_no));
    size_t b = 0, e = chars.size();
    while (b < e && unicode::has(chars[b].cp, unicode::kPySpace)) ++b;
    while (e > b && unicode::has(chars[e - 1].cp, unicode::kPySpace)) --e;
    std::string token = unicode::to_utf8(chars, b, e);
    max_token_bytes_ = std::max(max_token_bytes_, token.size());
    vocab_[token] = static_cast<int64_t>(id_to_token_.size());
    id_to_token_.push_back(std::move(token));
  }
  auto special = [&](const std::string& tok) {
    const int64_t id = token_to_id(tok);
    if (id < 0)
      throw DataError(what + " has no '" + tok + "' token (" + std::to_string(id_to_token_.size()) +
                      " lines read; is this a BERT vocab.txt?)");
    return id;
  };
  unk_id_ = special(options_.unk_token);
  cls_id_ = special(options_.cls_token);
  sep_id_ = special(options_.sep_token);
  pad_id_ = special(options_.pad_token);
}

int64_t WordPieceTokenizer::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string& WordPieceTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size())
    throw RuntimeError("BERT token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                       std::to_string(vocab_size()) + ")");
  return id_to_token_[static_cast<size_t>(id)];
}

std::vector<Piece> WordPieceTokenizer::tokenize(const std::string& text) const {
  const std::vector<Char> input = unicode::decode_utf8(text, "text " + preview(text));

  // _clean_text + _tokenize_chinese_chars. A separator is a ' ' that keeps the
  // span of the character it replaces (it never reaches a token).
  std::vector<Char> cleaned;
  cleaned.reserve(input.size() + 8);
  for (const Char& c : input) {
    const uint16_t f = unicode::flags(c.cp);
    if (c.cp == 0 || c.cp == 0xFFFD || (f & unicode::kBertControl)) continue;
    if (f & unicode::kBertWhitespace) {
      cleaned.push_back({' ', c.begin, c.end});
    } else if (unicode::is_cjk(c.cp)) {
      cleaned.push_back({' ', c.begin, c.begin});
      cleaned.push_back(c);
      cleaned.push_back({' ', c.end, c.end});
    } else {
      cleaned.push_back(c);
    }
  }

  std::vector<Piece> out;
  std::vector<Char> word;
  // Greedy longest-match-first over one punctuation-free, whitespace-free word.
  auto word_pieces = [&](const std::vector<Char>& w) {
    if (w.empty()) return;
    Offset whole{w.front().begin, w.front().end};
    for (const Char& c : w) whole.begin = std::min<int64_t>(whole.begin, c.begin), whole.end = std::max<int64_t>(whole.end, c.end);
    if (static_cast<int64_t>(w.size()) > options_.max_chars_per_word) {
      out.push_back({unk_id_, options_.unk_token, whole});
      return;
    }
    // Byte position of each character in the word's UTF-8 string.
    std::string utf8;
    std::vector<size_t> at(w.size() + 1);
    for (size_t k = 0; k < w.size(); ++k) at[k] = utf8.size(), unicode::append_utf8(utf8, w[k].cp);
    at[w.size()] = utf8.size();

    const size_t first = out.size();
    std::string key;
    size_t start = 0;
    while (start < w.size()) {
      size_t end = w.size();
      int64_t id = -1;
      for (; end > start; --end) {
        const size_t prefix = start > 0 ? 2 : 0;
        if (at[end] - at[start] + prefix > max_token_bytes_) continue;  // longer than any vocabulary entry
        key.assign(start > 0 ? "##" : "");
        key.append(utf8, at[start], at[end] - at[start]);
        auto it = vocab_.find(key);
        if (it != vocab_.end()) { id = it->second; break; }
      }
      if (id < 0) {  // one uncoverable piece makes the whole word [UNK]
        out.resize(first);
        out.push_back({unk_id_, options_.unk_token, whole});
        return;
      }
      Offset o{w[start].begin, w[start].end};
      for (size_t k = start; k < end; ++k) o.begin = std::min<int64_t>(o.begin, w[k].begin), o.end = std::max<int64_t>(o.end, w[k].end);
      out.push_back({id, key, o});
      start = end;
    }
  };

  // whitespace_tokenize, then per word lower-case + strip accents, then split off
  // punctuation (and any whitespace the normalisation produced).
  auto flush_word = [&]() {
    if (word.empty()) return;
    std::vector<Char> w = word;
    word.clear();
    if (options_.lower_case) {
      std::vector<Char> decomposed = unicode::nfd(unicode::lower(w));
      w.clear();
      for (const Char& c : decomposed)
        if (!unicode::has(c.cp, unicode::kMn)) w.push_back(c);
    }
    std::vector<Char> run;
    for (const Char& c : w) {
      const uint16_t f = unicode::flags(c.cp);
      if (f & unicode::kPySpace) {
        word_pieces(run), run.clear();
      } else if (f & unicode::kBertPunct) {
        word_pieces(run), run.clear();
        word_pieces({c});
      } else {
        run.push_back(c);
      }
    }
    word_pieces(run);
  };
  for (const Char& c : cleaned) {
    if (unicode::has(c.cp, unicode::kPySpace)) flush_word();
    else word.push_back(c);
  }
  flush_word();
  return out;
}

Encoding WordPieceTokenizer::encode(const std::string& text, const EncodeOptions& options) const {
  const std::vector<Piece> seqs[1] = {tokenize(text)};
  return build(seqs, 1, options, "text " + preview(text));
}

Encoding WordPieceTokenizer::encode_pair(const std::string& a, const std::string& b,
                                         const EncodeOptions& options) const {
  const std::vector<Piece> seqs[2] = {tokenize(a), tokenize(b)};
  return build(seqs, 2, options, "text pair " + preview(a) + " / " + preview(b));
}

Encoding WordPieceTokenizer::build(const std::vector<Piece>* seqs, int num_seqs, const EncodeOptions& options,
                                   const std::string& what) const {
  std::vector<Piece> a = seqs[0];
  std::vector<Piece> b = num_seqs > 1 ? seqs[1] : std::vector<Piece>{};
  const int64_t specials = options.add_special_tokens ? (num_seqs > 1 ? 3 : 2) : 0;
  const int64_t total = static_cast<int64_t>(a.size() + b.size()) + specials;
  Encoding enc;
  if (options.max_length > 0 && total > options.max_length) {
    enc.num_truncated = fit_to_length(a, b, num_seqs, specials, options, what);
  }

  auto push = [&](int64_t id, const std::string& tok, Offset o, int64_t type, int seq, int64_t mask) {
    enc.ids.push_back(id);
    enc.tokens.push_back(tok);
    enc.offsets.push_back(o);
    enc.type_ids.push_back(type);
    enc.sequence_ids.push_back(seq);
    enc.attention_mask.push_back(mask);
  };
  const bool sp = options.add_special_tokens;
  if (sp) push(cls_id_, options_.cls_token, {}, 0, -1, 1);
  for (const Piece& p : a) push(p.id, p.token, p.offset, 0, 0, 1);
  if (sp) push(sep_id_, options_.sep_token, {}, 0, -1, 1);
  if (num_seqs > 1) {
    for (const Piece& p : b) push(p.id, p.token, p.offset, 1, 1, 1);
    if (sp) push(sep_id_, options_.sep_token, {}, 1, -1, 1);
  }
  if (options.pad_to_max_length && options.max_length > 0)
    while (enc.size() < options.max_length) push(pad_id_, options_.pad_token, {}, 0, -1, 0);
  return enc;
}

}  // namespace seer::text
