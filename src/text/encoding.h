#pragma once
// What a tokenizer hands to a text encoder: ids plus everything needed to line the
// tokens up with the text they came from. Torch-free; models turn it into tensors.
#include <cstdint>
#include <string>
#include <vector>

namespace seer::text {

// A half-open byte range [begin, end) of the ORIGINAL UTF-8 text (same convention
// as seer::Span). Special and padding tokens carry {0, 0}.
struct Offset {
  int64_t begin = 0;
  int64_t end = 0;
  bool operator==(const Offset& o) const { return begin == o.begin && end == o.end; }
};

// One token before special tokens, padding and truncation are applied.
struct Piece {
  int64_t id = 0;
  std::string token;
  Offset offset;
};

// How encode() fits a sequence into a fixed length. Truncation is never silent:
// with kNone a sequence longer than max_length is an error, otherwise the number
// of dropped tokens is reported in Encoding::num_truncated.
enum class Truncation {
  kNone,          // error when too long
  kLongestFirst,  // drop from the end of the longer sequence, one token at a time
  kOnlyFirst,     // drop from the first sequence only
  kOnlySecond,    // drop from the second sequence only
};

struct EncodeOptions {
  bool add_special_tokens = true;  // BERT: [CLS] ... [SEP] (... [SEP]); CLIP: <|startoftext|> ... <|endoftext|>
  int64_t max_length = 0;          // total length with special tokens; 0 = unlimited
  Truncation truncation = Truncation::kNone;
  bool pad_to_max_length = false;  // pad up to max_length (attention_mask 0)
};

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;
  std::vector<Offset> offsets;          // into the text the token came from (see sequence_ids)
  std::vector<int64_t> type_ids;        // BERT segment id: 0 for [CLS] A [SEP], 1 for B [SEP]
  std::vector<int64_t> attention_mask;  // 1 = token, 0 = padding
  std::vector<int> sequence_ids;        // 0 / 1 = which input text; -1 = special or padding
  int64_t num_truncated = 0;            // tokens dropped to fit max_length
  int64_t eot_position = -1;            // CLIP: index of the end token (the text tower pools there)

  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  // Tokens with attention_mask 1 (everything but padding).
  int64_t length() const;
  // Indices of the tokens of text `sequence` whose offsets overlap the byte range
  // [begin, end): how a caption span (Target::tokens_positive) becomes token positions.
  std::vector<int64_t> tokens_in_span(int64_t begin, int64_t end, int sequence = 0) const;
};

}  // namespace seer::text
