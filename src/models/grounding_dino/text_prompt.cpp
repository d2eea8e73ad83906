#include "models/grounding_dino/text_prompt.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace seer::gdino {

namespace {

std::string lower_ascii(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

// The official loop for one row of `ids` (length n): fills mask [n, n] and pos [n].
void row_masks(const int64_t* ids, int64_t n, const std::vector<int64_t>& special, bool* mask, int64_t* pos,
               int64_t stride) {
  int64_t previous = 0;
  for (int64_t col = 0; col < n; ++col) {
    mask[col * stride + col] = true;
    if (std::find(special.begin(), special.end(), ids[col]) == special.end()) continue;
    if (col == 0 || col == n - 1) {
      pos[col] = 0;
    } else {
      for (int64_t r = previous + 1; r <= col; ++r) {
        for (int64_t c = previous + 1; c <= col; ++c) mask[r * stride + c] = true;
        pos[r] = r - previous - 1;
      }
    }
    previous = col;
  }
}

}  // namespace

ClassCaption build_class_caption(const std::vector<std::string>& names, bool lower_case) {
  ClassCaption out;
  for (const auto& raw : names) {
    std::string name = lower_case ? lower_ascii(raw) : raw;
    std::vector<Span> spans;
    std::string word;
    auto flush = [&] {
      if (word.empty()) return;
      if (!out.caption.empty()) out.caption += ' ';
      const auto begin = static_cast<int64_t>(out.caption.size());
      out.caption += word;
      spans.push_back({begin, static_cast<int64_t>(out.caption.size())});
      word.clear();
    };
    for (char c : strip(name)) {
      if (c == ' ') flush();
      else word += c;
    }
    flush();
    if (!spans.empty()) out.caption += " .";
    out.spans.push_back(std::move(spans));
  }
  return out;
}

std::string preprocess_caption(const std::string& caption) {
  std::string c = strip(lower_ascii(caption));
  if (c.empty() || c.back() != '.') c += ".";
  return c;
}

std::vector<int64_t> special_token_ids(const text::WordPieceTokenizer& tokenizer) {
  std::vector<int64_t> ids;
  for (const char* t : {"[CLS]", "[SEP]", ".", "?"}) {
    const int64_t id = tokenizer.token_to_id(t);
    if (id < 0) throw RuntimeError(std::string("Grounding DINO: the vocabulary has no '") + t + "' token");
    ids.push_back(id);
  }
  return ids;
}

TextInputs tokenize_captions(const text::WordPieceTokenizer& tokenizer, const std::vector<std::string>& captions,
                             const TokenizeOptions& options) {
  if (captions.empty()) throw RuntimeError("Grounding DINO: no caption to tokenise");
  if (options.max_text_len < 2) throw RuntimeError("Grounding DINO: max_text_len must be >= 2");
  const auto special = special_token_ids(tokenizer);
  TextInputs t;
  int64_t longest = 0;
  for (const auto& c : captions) {
    auto e = tokenizer.encode(c);
    longest = std::max(longest, e.size());
    t.encodings.push_back(std::move(e));
  }
  const int64_t B = static_cast<int64_t>(captions.size());
  // Masks are built at full length, then everything is cut to max_text_len
  // (the official order: a cut caption keeps the blocks it had).
  auto ids = torch::full({B, longest}, tokenizer.pad_id(), torch::kLong);
  auto keep = torch::zeros({B, longest}, torch::kBool);
  auto mask = torch::zeros({B, longest, longest}, torch::kBool);
  auto pos = torch::zeros({B, longest}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const auto& e = t.encodings[b];
    const int64_t n = e.size();
    std::copy(e.ids.begin(), e.ids.end(), ids[b].data_ptr<int64_t>());
    keep[b].narrow(0, 0, n).fill_(true);
    bool* m = mask[b].data_ptr<bool>();
    int64_t* p = pos[b].data_ptr<int64_t>();
    if (options.sub_sentence) {
      row_masks(e.ids.data(), n, special, m, p, longest);
    } else {
      for (int64_t r = 0; r < n; ++r) {
        p[r] = r;
        for (int64_t c = 0; c < n; ++c) m[r * longest + c] = true;
      }
    }
    for (int64_t r = n; r < longest; ++r) m[r * longest + r] = true;  // padding sees itself
  }
  const int64_t L = std::min(longest, options.max_text_len);
  t.input_ids = ids.narrow(1, 0, L).contiguous();
  t.token_mask = keep.narrow(1, 0, L).contiguous();
  t.token_type_ids = torch::zeros({B, L}, torch::kLong);
  t.position_ids = pos.narrow(1, 0, L).contiguous();
  t.self_attention_mask = mask.narrow(1, 0, L).narrow(2, 0, L).contiguous();
  for (auto& e : t.encodings) {
    if (e.size() <= L) continue;
    e.num_truncated += e.size() - L;
    e.ids.resize(L);
    e.tokens.resize(L);
    e.offsets.resize(L);
    e.type_ids.resize(L);
    e.attention_mask.resize(L);
    e.sequence_ids.resize(L);
  }
  return t;
}

std::pair<torch::Tensor, torch::Tensor> official_batch_masks(const torch::Tensor& input_ids,
                                                             const std::vector<int64_t>& special_ids) {
  auto ids = input_ids.to(torch::kLong).contiguous();
  const int64_t B = ids.size(0), n = ids.size(1);
  auto mask = torch::zeros({B, n, n}, torch::kBool);
  auto pos = torch::zeros({B, n}, torch::kLong);
  // One loop over the special tokens of the whole batch, row-major, with the
  // previous column carried across rows (as the official loop does; every row
  // starts with [CLS] in column 0, which resets it).
  int64_t previous = 0;
  const int64_t* id = ids.data_ptr<int64_t>();
  bool* m = mask.data_ptr<bool>();
  int64_t* p = pos.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < n; ++i) m[(b * n + i) * n + i] = true;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t col = 0; col < n; ++col) {
      if (std::find(special_ids.begin(), special_ids.end(), id[b * n + col]) == special_ids.end()) continue;
      if (col == 0 || col == n - 1) {
        p[b * n + col] = 0;
      } else {
        for (int64_t r = previous + 1; r <= col; ++r) {
          for (int64_t c = previous + 1; c <= col; ++c) m[(b * n + r) * n + c] = true;
          p[b * n + r] = r - previous - 1;
        }
      }
      previous = col;
    }
  }
  return {mask, pos};
}

namespace {
int64_t char_to_token(const text::Encoding& e, int64_t c) {
  if (c < 0) return -1;
  for (int64_t t = 0; t < e.size(); ++t) {
    if (e.sequence_ids[t] != 0) continue;
    if (e.offsets[t].begin <= c && c < e.offsets[t].end) return t;
  }
  return -1;
}
}  // namespace

std::pair<int64_t, int64_t> span_to_tokens(const text::Encoding& e, const Span& span) {
  int64_t first = char_to_token(e, span.begin);
  if (first < 0) first = char_to_token(e, span.begin + 1);
  if (first < 0) first = char_to_token(e, span.begin + 2);
  int64_t last = char_to_token(e, span.end - 1);
  if (last < 0) last = char_to_token(e, span.end - 2);
  if (last < 0) last = char_to_token(e, span.end - 3);
  if (first < 0 || last < 0) return {-1, -1};
  return {first, last};
}

torch::Tensor positive_map(const text::Encoding& encoding, const std::vector<std::vector<Span>>& spans,
                           int64_t max_len, bool normalise) {
  const int64_t N = static_cast<int64_t>(spans.size());
  auto map = torch::zeros({N, max_len}, torch::kFloat);
  auto acc = map.accessor<float, 2>();
  for (int64_t i = 0; i < N; ++i)
    for (const auto& s : spans[i]) {
      const auto [first, last] = span_to_tokens(encoding, s);
      if (first < 0) continue;
      for (int64_t t = first; t <= last && t < max_len; ++t) acc[i][t] = 1.f;
    }
  if (normalise) map = map / (map.sum(-1, true) + 1e-6);
  return map;
}

std::string decode_tokens(const text::WordPieceTokenizer& tokenizer, const std::vector<int64_t>& ids) {
  std::string text;
  for (size_t k = 0; k < ids.size(); ++k) {
    const std::string& tok = tokenizer.id_to_token(ids[k]);
    if (k > 0) text += ' ';
    text += tok;
  }
  replace_all(text, " ##", "");
  text = strip(text);
  for (const char* p : {" .", " ?", " !", " ,"}) replace_all(text, p, std::string(p + 1));
  replace_all(text, " ' ", "'");
  for (const char* p : {" n't", " 'm", " 's", " 've", " 're"}) replace_all(text, p, std::string(p + 1));
  return text;
}

std::string phrase_from_scores(const text::WordPieceTokenizer& tokenizer, const text::Encoding& encoding,
                               const torch::Tensor& scores, double threshold, int64_t left, int64_t right) {
  auto s = scores.to(torch::kFloat).contiguous();
  const float* v = s.data_ptr<float>();
  const int64_t n = std::min<int64_t>(s.numel(), encoding.size());
  std::vector<int64_t> ids;
  for (int64_t t = left + 1; t < std::min(n, right); ++t)
    if (v[t] > threshold) ids.push_back(encoding.ids[t]);
  std::string phrase = decode_tokens(tokenizer, ids);
  phrase.erase(std::remove(phrase.begin(), phrase.end(), '.'), phrase.end());
  return phrase;
}

std::vector<std::pair<int64_t, int64_t>> chunk_class_names(const text::WordPieceTokenizer& tokenizer,
                                                          const std::vector<std::string>& names,
                                                          int64_t max_text_len) {
  // A name costs its word pieces plus " ." (one token); a caption adds [CLS] and [SEP].
  std::vector<std::pair<int64_t, int64_t>> chunks;
  const int64_t n = static_cast<int64_t>(names.size());
  int64_t begin = 0, used = 2;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t cost = static_cast<int64_t>(tokenizer.tokenize(lower_ascii(names[i])).size()) + 1;
    if (cost + 2 > max_text_len)
      throw RuntimeError("Grounding DINO: class name '" + names[i] + "' alone takes " + std::to_string(cost + 2) +
                         " tokens, over the text budget of " + std::to_string(max_text_len));
    if (used + cost > max_text_len) {
      chunks.emplace_back(begin, i);
      begin = i;
      used = 2;
    }
    used += cost;
  }
  if (begin < n) chunks.emplace_back(begin, n);
  return chunks;
}

}  // namespace seer::gdino
