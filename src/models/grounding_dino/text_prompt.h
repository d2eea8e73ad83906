#pragma once
// The text side of Grounding DINO outside the networks: captions built from
// class names, the tokenisation with its sub-sentence masks, positive maps
// (which tokens a box or a class names) and phrases decoded from token scores.
//
// Sub-sentence masks (IDEA-Research/GroundingDINO bertwarper.py,
// generate_masks_with_special_tokens_and_transfer_map): the special tokens are
// [CLS], [SEP], "." and "?". Every token attends to itself; a token that is not
// the first or the last column of the row closes a block: the tokens after the
// previous special token up to and including it attend to each other and their
// position ids restart at 0. [CLS] and the final [SEP] only see themselves and
// get position 0; padding sees itself, position 0.
//
// Batches: the official code runs that loop over the PADDED batch, so in a
// shorter caption the [SEP] is not in the last column: after a final "." it
// forms a block of its own (same result), but a caption that does not end with
// a separator gets its [SEP] joined to the last phrase's block; and the text
// enhancer tiles the masks over heads so that, for batch > 1, head h of image b
// uses the mask of image (b * heads + h) % batch. seer builds each row from its own unpadded tokens,
// which equals the official result for batch 1 and gives every image of a
// batch the result it gets alone.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/types.h"
#include "text/wordpiece.h"

namespace seer::gdino {

inline constexpr int64_t kMaxTextLen = 256;

// A caption built from class names, as vl_utils.build_captions_and_token_span:
// names lower-cased (when asked), words joined by spaces, " ." after each name:
// "cat . remote control ." Each name's spans cover its words one by one.
struct ClassCaption {
  std::string caption;
  std::vector<std::vector<Span>> spans;  // per name
};
ClassCaption build_class_caption(const std::vector<std::string>& names, bool lower_case = true);

// The official caption preprocessing of predict(): lower-case, strip, and a
// final "." appended when missing.
std::string preprocess_caption(const std::string& caption);

// Tokenised captions with everything the text encoder and the transformer use.
struct TextInputs {
  torch::Tensor input_ids;            // [B, L] int64, padded with [PAD]
  torch::Tensor token_mask;           // [B, L] bool, true = real token (incl. [CLS]/[SEP])
  torch::Tensor token_type_ids;       // [B, L] int64 zeros
  torch::Tensor position_ids;         // [B, L] int64, restarted per sub-sentence
  torch::Tensor self_attention_mask;  // [B, L, L] bool, true = may attend
  std::vector<text::Encoding> encodings;  // per caption (truncated to L), for spans and phrases
  int64_t length() const { return input_ids.defined() ? input_ids.size(1) : 0; }
};

struct TokenizeOptions {
  int64_t max_text_len = kMaxTextLen;  // longer captions are cut here (the official truncation)
  bool sub_sentence = true;  // false: plain attention mask and 0..L-1 positions (sub_sentence_present off)
};

// Tokenises captions ([CLS] ... [SEP], no truncation by the tokenizer), pads to
// the longest, builds the masks per row (see above) and truncates to
// max_text_len. An empty caption list is a RuntimeError.
TextInputs tokenize_captions(const text::WordPieceTokenizer& tokenizer, const std::vector<std::string>& captions,
                             const TokenizeOptions& options = {});

// The official mask loop over a PADDED batch (quirks included), for tests and
// parity: returns (self_attention_mask [B, L, L], position_ids [B, L]).
std::pair<torch::Tensor, torch::Tensor> official_batch_masks(const torch::Tensor& input_ids,
                                                             const std::vector<int64_t>& special_ids);

// The ids of [CLS], [SEP], "." and "?" in a vocabulary.
std::vector<int64_t> special_token_ids(const text::WordPieceTokenizer& tokenizer);

// The token positions [first, last] a character span covers, as the official
// create_positive_map_from_span: the token holding `begin` (else begin + 1,
// begin + 2) to the token holding end - 1 (else end - 2, end - 3); {-1, -1}
// when either end has no token (e.g. cut by truncation).
std::pair<int64_t, int64_t> span_to_tokens(const text::Encoding& encoding, const Span& span);

// Positive map [N, max_len] float: row i marks the tokens of spans[i]. With
// normalise, each row is divided by (its sum + 1e-6), as the official
// create_positive_map_from_span; else 0/1.
torch::Tensor positive_map(const text::Encoding& encoding, const std::vector<std::vector<Span>>& spans,
                           int64_t max_len = kMaxTextLen, bool normalise = true);

// The phrase of one box, as get_phrases_from_posmap + replace('.', ''): tokens
// whose score exceeds `threshold`, except position 0 ([CLS]) and positions
// >= right (255 by default), decoded like Hugging Face's BertTokenizer.decode
// (word pieces joined, the spaces before punctuation cleaned), every '.' removed.
// scores [L'] (L' <= encoding length is fine; tokens beyond are ignored).
std::string phrase_from_scores(const text::WordPieceTokenizer& tokenizer, const text::Encoding& encoding,
                               const torch::Tensor& scores, double threshold, int64_t left = 0, int64_t right = 255);

// Hugging Face's BertTokenizer.decode of ids (skip_special_tokens false,
// clean_up_tokenization_spaces true).
std::string decode_tokens(const text::WordPieceTokenizer& tokenizer, const std::vector<int64_t>& ids);

// Class names in chunks whose captions fit max_text_len tokens (mmdetection's
// chunked prompts for LVIS-size vocabularies). Returns the index ranges
// [begin, end) of `names`. A single name that does not fit alone is a
// RuntimeError naming it.
std::vector<std::pair<int64_t, int64_t>> chunk_class_names(const text::WordPieceTokenizer& tokenizer,
                                                          const std::vector<std::string>& names,
                                                          int64_t max_text_len = kMaxTextLen);

}  // namespace seer::gdino
