#pragma once
// BERT's WordPiece tokenizer, reproducing google-research/bert tokenization.py
// (BasicTokenizer + WordpieceTokenizer) id for id, plus what the Python code does
// not give: byte offsets into the original text, sentence pairs, truncation,
// padding and the attention mask (the Hugging Face BertTokenizer conventions).
//
// Pipeline: drop NUL / U+FFFD / control characters and map whitespace to ' ';
// surround CJK ideographs with spaces; split on whitespace; per word lower-case
// (str.lower()) and strip accents (NFD, drop Mn); split off every punctuation
// character; then greedy longest-match-first word pieces ("##" continuations),
// [UNK] for a word that cannot be covered or is longer than max_chars_per_word.
#include <string>
#include <unordered_map>
#include <vector>

#include "text/encoding.h"

namespace seer::text {

struct WordPieceOptions {
  bool lower_case = true;  // uncased models: lower-case and strip accents
  // Words longer than this (in code points) become [UNK]. Hugging Face's
  // BertTokenizer uses 100; google-research/bert's WordpieceTokenizer defaults to 200.
  int64_t max_chars_per_word = 100;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
};

class WordPieceTokenizer {
 public:
  // Reads a BERT vocab.txt (one token per line, id = line number). Throws
  // seer::DataError for a missing, unreadable, non-UTF-8 or special-token-less file.
  explicit WordPieceTokenizer(const std::string& vocab_file, WordPieceOptions options = {});

  // The word pieces of `text`, without special tokens (FullTokenizer.tokenize).
  std::vector<Piece> tokenize(const std::string& text) const;

  // [CLS] text [SEP], then truncation / padding as `options` say.
  Encoding encode(const std::string& text, const EncodeOptions& options = {}) const;
  // [CLS] a [SEP] b [SEP] with type ids 0 ... 0 1 ... 1.
  Encoding encode_pair(const std::string& a, const std::string& b, const EncodeOptions& options = {}) const;

  int64_t token_to_id(const std::string& token) const;  // -1 when absent
  const std::string& id_to_token(int64_t id) const;
  int64_t vocab_size() const { return static_cast<int64_t>(id_to_token_.size()); }
  const WordPieceOptions& options() const { return options_; }
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t unk_id() const { return unk_id_; }

 private:
  Encoding build(const std::vector<Piece>* seqs, int num_seqs, const EncodeOptions& options,
                 const std::string& what) const;

  WordPieceOptions options_;
  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  size_t max_token_bytes_ = 0;  // no vocabulary entry is longer: bounds the match loop
  int64_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1;
};

}  // namespace seer::text
