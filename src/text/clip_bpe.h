#pragma once
// CLIP's byte-level BPE tokenizer, reproducing openai/CLIP clip/simple_tokenizer.py
// and clip.tokenize() id for id, with byte offsets into the original text.
//
// Pipeline: html.unescape twice, strip, collapse whitespace runs to ' ', strip,
// lower-case (str.lower()); split with the reference's pattern
//   <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+
// (IGNORECASE); map each piece's UTF-8 bytes to the byte-to-unicode alphabet; apply
// the merges by rank ("</w>" marks the end of a word); wrap in <|startoftext|> and
// <|endoftext|>; fit into the context length (77).
//
// Difference from the reference: the reference first runs ftfy.fix_text (mojibake
// repair, NFC, quote uncurling, ...). ftfy is not available to seer (no Debian
// package) and is skipped, as in the shared tokenizer_test_vectors.json: results
// are identical whenever ftfy would leave the text unchanged (plain NFC text
// without mojibake, curly quotes, HTML-escaped ftfy cases or control characters).
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/encoding.h"

namespace seer::text {

class ClipTokenizer {
 public:
  static constexpr int64_t kContextLength = 77;

  // Reads bpe_simple_vocab_16e6.txt.gz (gzip, via zlib). Throws seer::DataError for
  // a missing, non-gzip, truncated or malformed file.
  explicit ClipTokenizer(const std::string& bpe_file);
  ~ClipTokenizer();
  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;

  // SimpleTokenizer.encode(): the BPE tokens of `text`, no start/end tokens.
  std::vector<Piece> tokenize(const std::string& text) const;

  // clip.tokenize() for one text: <|startoftext|> ... <|endoftext|>, padded with id 0
  // (token "") to the context length. A text longer than the context length is an
  // error unless options.truncation is set; then it is cut and its last token
  // replaced by <|endoftext|>, as clip.tokenize(truncate=True) does.
  static EncodeOptions default_options() { return {true, kContextLength, Truncation::kNone, true}; }
  Encoding encode(const std::string& text, const EncodeOptions& options = default_options()) const;

  int64_t token_to_id(const std::string& token) const;  // -1 when absent
  const std::string& id_to_token(int64_t id) const;
  int64_t vocab_size() const { return static_cast<int64_t>(id_to_token_.size()); }
  int64_t sot_id() const { return sot_id_; }
  int64_t eot_id() const { return eot_id_; }

 private:
  struct Cache;
  // BPE of one pre-token (byte-encoded symbols); each result piece with the number
  // of input bytes it covers.
  std::vector<std::pair<std::string, int>> bpe(const std::vector<std::string>& symbols) const;

  std::string byte_encoder_[256];
  std::unordered_map<std::string, int64_t> encoder_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int> ranks_;  // "first second" -> merge rank
  int64_t sot_id_ = -1, eot_id_ = -1;
  std::unique_ptr<Cache> cache_;
};

}  // namespace seer::text
