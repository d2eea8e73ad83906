#include "text/clip_bpe.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <mutex>

#include "core/error.h"
#include "text/text_util.h"
#include "text/unicode.h"

namespace seer::text {

using unicode::Char;

namespace {

// The reference keeps merges[1 : 49152 - 256 - 2 + 1]: line 0 is a version header.
constexpr size_t kNumMerges = 49152 - 256 - 2;
constexpr size_t kCacheLimit = 200000;  // BPE results kept per tokenizer before the cache is reset

std::string gunzip(const std::string& gz, const std::string& what) {
  if (gz.size() < 18 || static_cast<unsigned char>(gz[0]) != 0x1F || static_cast<unsigned char>(gz[1]) != 0x8B)
    throw DataError(what + " is not a gzip file (expected bpe_simple_vocab_16e6.txt.gz)");
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw DataError("cannot initialise zlib for " + what);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
  }
  const std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    throw DataError(what + " is corrupt: " + (msg.empty() ? std::string("truncated gzip stream") : msg));
  return out;
}

// The reference's bytes_to_unicode(): printable Latin-1 bytes map to themselves,
// the rest to U+0100 onwards in byte order. Returns the bytes in dictionary order.
std::vector<int> byte_order(std::string (&encoder)[256]) {
  std::vector<int> bs;
  for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
  std::vector<bool> printable(256, false);
  for (int b : bs) printable[b] = true;
  for (int b : bs) encoder[b].clear(), unicode::append_utf8(encoder[b], static_cast<char32_t>(b));
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    if (printable[b]) continue;
    bs.push_back(b);
    encoder[b].clear();
    unicode::append_utf8(encoder[b], static_cast<char32_t>(256 + n++));
  }
  return bs;
}

// Python str.split() over ASCII-only data is enough for merge lines (every symbol
// is in the byte alphabet, none of which is whitespace); we split on ' ' and tabs.
std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    size_t j = i;
    while (j < s.size() && !(s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) ++j;
    if (j > i) parts.push_back(s.substr(i, j - i));
    i = j;
  }
  return parts;
}

void strip_py_space(std::vector<Char>& s) {
  size_t b = 0, e = s.size();
  while (b < e && unicode::has(s[b].cp, unicode::kPySpace)) ++b;
  while (e > b && unicode::has(s[e - 1].cp, unicode::kPySpace)) --e;
  s = std::vector<Char>(s.begin() + b, s.begin() + e);
}

// The length of the literal (compared under regex IGNORECASE) at t[i], or 0.
size_t match_literal(const std::vector<Char>& t, size_t i, const char* lit) {
  size_t k = 0;
  for (; lit[k]; ++k)
    if (i + k >= t.size() || unicode::fold_ascii(t[i + k].cp) != lit[k]) return 0;
  return k;
}

// One match of the reference pattern at t[i] (alternatives tried in order), as
// its length in code points; 0 when nothing matches here (whitespace, and the
// odd character no alternative accepts).
size_t match_at(const std::vector<Char>& t, size_t i) {
  if (size_t n = match_literal(t, i, "<|startoftext|>")) return n;
  if (size_t n = match_literal(t, i, "<|endoftext|>")) return n;
  if (t[i].cp == '\'') {
    for (const char* c : {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"})
      if (size_t n = match_literal(t, i, c)) return n;
  }
  const uint16_t f = unicode::flags(t[i].cp);
  if (f & unicode::kRxLetter) {
    size_t j = i + 1;
    while (j < t.size() && unicode::has(t[j].cp, unicode::kRxLetter)) ++j;
    return j - i;
  }
  if (f & unicode::kRxNumber) return 1;
  if (!(f & unicode::kRxOther)) return 0;
  size_t j = i + 1;
  while (j < t.size() && unicode::has(t[j].cp, unicode::kRxOther)) ++j;
  return j - i;
}

}  // namespace

struct ClipTokenizer::Cache {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<std::pair<std::string, int>>> map;
};

ClipTokenizer::~ClipTokenizer() = default;
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;

ClipTokenizer::ClipTokenizer(const std::string& bpe_file) : cache_(std::make_unique<Cache>()) {
  const std::string what = "CLIP BPE vocabulary '" + bpe_file + "'";
  const std::string text = gunzip(read_file(bpe_file, what), what);
  unicode::decode_utf8(text, what);  // the reference decodes the whole file as UTF-8

  // text.split('\n')[1 : kNumMerges + 1]
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(kNumMerges);
  size_t pos = text.find('\n');
  size_t line_no = 1;
  while (pos != std::string::npos && merges.size() < kNumMerges) {
    const size_t start = pos + 1;
    pos = text.find('\n', start);
    const std::string line = text.substr(start, (pos == std::string::npos ? text.size() : pos) - start);
    ++line_no;
    if (line.empty() && pos == std::string::npos) break;  // the file's final newline
    auto parts = split_ws(line);
    if (parts.size() != 2)
      throw DataError(what + " line " + std::to_string(line_no) + ": expected a merge 'A B', got '" + line.substr(0, 60) + "'");
    merges.emplace_back(std::move(parts[0]), std::move(parts[1]));
  }
  if (merges.size() < kNumMerges)
    throw DataError(what + " has only " + std::to_string(merges.size()) + " merge rules, expected " +
                    std::to_string(kNumMerges) + " (truncated or not a CLIP vocabulary?)");

  // Vocabulary order of the reference: bytes, bytes + "</w>", merges, specials.
  const std::vector<int> order = byte_order(byte_encoder_);
  for (int b : order) id_to_token_.push_back(byte_encoder_[b]);
  for (int b : order) id_to_token_.push_back(byte_encoder_[b] + "</w>");
  for (const auto& m : merges) id_to_token_.push_back(m.first + m.second);
  id_to_token_.push_back("<|startoftext|>");
  id_to_token_.push_back("<|endoftext|>");
  for (size_t i = 0; i < id_to_token_.size(); ++i) encoder_[id_to_token_[i]] = static_cast<int64_t>(i);
  for (size_t r = 0; r < merges.size(); ++r) ranks_[merges[r].first + " " + merges[r].second] = static_cast<int>(r);
  sot_id_ = encoder_.at("<|startoftext|>");
  eot_id_ = encoder_.at("<|endoftext|>");
}

int64_t ClipTokenizer::token_to_id(const std::string& token) const {
  auto it = encoder_.find(token);
  return it == encoder_.end() ? -1 : it->second;
}

const std::string& ClipTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size())
    throw RuntimeError("CLIP token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                       std::to_string(vocab_size()) + ")");
  return id_to_token_[static_cast<size_t>(id)];
}

std::vector<std::pair<std::string, int>> ClipTokenizer::bpe(const std::vector<std::string>& symbols) const {
  std::string key;
  for (const auto& s : symbols) key += s;
  // The reference's cache is pre-seeded with the two special tokens, so they pass unsplit.
  if (key == "<|startoftext|>" || key == "<|endoftext|>") return {{key, static_cast<int>(symbols.size())}};
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    auto it = cache_->map.find(key);
    if (it != cache_->map.end()) return it->second;
  }
  std::vector<std::pair<std::string, int>> word;
  for (const auto& s : symbols) word.emplace_back(s, 1);
  word.back().first += "</w>";
  std::string pair;
  while (word.size() > 1) {
    // The adjacent pair of lowest rank...
    int best = INT_MAX;
    size_t best_i = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      pair.assign(word[i].first).append(" ").append(word[i + 1].first);
      auto it = ranks_.find(pair);
      if (it != ranks_.end() && it->second < best) best = it->second, best_i = i;
    }
    if (best == INT_MAX) break;
    // ...merged everywhere it occurs, left to right, without overlaps.
    const std::string first = word[best_i].first, second = word[best_i + 1].first;
    std::vector<std::pair<std::string, int>> merged;
    merged.reserve(word.size());
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i].first == first && word[i + 1].first == second) {
        merged.emplace_back(first + second, word[i].second + word[i + 1].second);
        i += 2;
      } else {
        merged.push_back(std::move(word[i]));
        ++i;
      }
    }
    word = std::move(merged);
  }
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->map.size() >= kCacheLimit) cache_->map.clear();
  cache_->map.emplace(key, word);
  return word;
}

std::vector<Piece> ClipTokenizer::tokenize(const std::string& text) const {
  std::vector<Char> t = unicode::decode_utf8(text, "text " + preview(text));
  // basic_clean (without ftfy) and whitespace_clean.
  t = unicode::html_unescape(unicode::html_unescape(t));
  strip_py_space(t);
  // re.sub(r'\s+', ' '): one ' ' per whitespace run, spanning the whole run.
  std::vector<Char> collapsed;
  collapsed.reserve(t.size());
  bool in_run = false;
  for (const Char& c : t) {
    if (unicode::has(c.cp, unicode::kRxSpace)) {
      if (in_run) collapsed.back().end = c.end;
      else collapsed.push_back({' ', c.begin, c.end});
      in_run = true;
    } else {
      collapsed.push_back(c);
      in_run = false;
    }
  }
  strip_py_space(collapsed);
  t = unicode::lower(collapsed);

  std::vector<Piece> out;
  std::vector<std::string> symbols;
  std::vector<size_t> byte_char;  // pre-token byte -> index of its character in t
  std::string bytes;
  for (size_t i = 0; i < t.size();) {
    const size_t n = match_at(t, i);
    if (n == 0) { ++i; continue; }
    symbols.clear();
    byte_char.clear();
    for (size_t k = i; k < i + n; ++k) {
      bytes.clear();
      unicode::append_utf8(bytes, t[k].cp);
      for (unsigned char b : bytes) symbols.push_back(byte_encoder_[b]), byte_char.push_back(k);
    }
    size_t at = 0;
    for (auto& [tok, nbytes] : bpe(symbols)) {
      auto it = encoder_.find(tok);
      if (it == encoder_.end()) throw DataError("CLIP BPE produced '" + tok + "', which is not in the vocabulary");
      Offset o{t[byte_char[at]].begin, t[byte_char[at]].end};
      for (size_t k = at; k < at + static_cast<size_t>(nbytes); ++k)
        o.begin = std::min<int64_t>(o.begin, t[byte_char[k]].begin), o.end = std::max<int64_t>(o.end, t[byte_char[k]].end);
      out.push_back({it->second, tok, o});
      at += static_cast<size_t>(nbytes);
    }
    i += n;
  }
  return out;
}

Encoding ClipTokenizer::encode(const std::string& text, const EncodeOptions& options) const {
  std::vector<Piece> pieces = tokenize(text);
  Encoding enc;
  const bool sp = options.add_special_tokens;
  const int64_t total = static_cast<int64_t>(pieces.size()) + (sp ? 2 : 0);
  if (options.max_length > 0 && total > options.max_length) {
    if (options.truncation == Truncation::kNone)
      throw DataError("text " + preview(text) + " has " + std::to_string(total) +
                      " tokens (start and end tokens included), more than the context length " +
                      std::to_string(options.max_length) + "; enable truncation to cut it");
    if (sp && options.max_length < 2)
      throw DataError("context length " + std::to_string(options.max_length) + " cannot hold the start and end tokens");
    enc.num_truncated = total - options.max_length;
  }
  auto push = [&](int64_t id, const std::string& tok, Offset o, int seq, int64_t mask) {
    enc.ids.push_back(id);
    enc.tokens.push_back(tok);
    enc.offsets.push_back(o);
    enc.type_ids.push_back(0);
    enc.sequence_ids.push_back(seq);
    enc.attention_mask.push_back(mask);
  };
  if (sp) push(sot_id_, "<|startoftext|>", {}, -1, 1);
  for (const Piece& p : pieces) push(p.id, p.token, p.offset, 0, 1);
  if (sp) push(eot_id_, "<|endoftext|>", {}, -1, 1);
  if (enc.num_truncated > 0) {
    // clip.tokenize(truncate=True): keep the first context_length tokens, last one <|endoftext|>.
    const size_t keep = static_cast<size_t>(options.max_length);
    enc.ids.resize(keep), enc.tokens.resize(keep), enc.offsets.resize(keep), enc.type_ids.resize(keep);
    enc.sequence_ids.resize(keep), enc.attention_mask.resize(keep);
    if (sp) enc.ids.back() = eot_id_, enc.tokens.back() = "<|endoftext|>", enc.offsets.back() = {}, enc.sequence_ids.back() = -1;
  }
  if (sp) {
    // CLIP pools at text.argmax(-1): the first occurrence of the largest id.
    enc.eot_position = std::max_element(enc.ids.begin(), enc.ids.end()) - enc.ids.begin();
  }
  if (options.pad_to_max_length && options.max_length > 0)
    while (enc.size() < options.max_length) push(0, "", {}, -1, 0);
  return enc;
}

}  // namespace seer::text
