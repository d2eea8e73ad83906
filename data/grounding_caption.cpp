#include "data/grounding_caption.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "core/error.h"

namespace seer {

void GroundingCaption::apply(Sample& sample, SampleRng& rng) const {
  Target& t = sample.target;
  if (!t.caption.empty()) return;
  if (!sample.categories || sample.categories->size() == 0)
    throw DataError("grounding_caption: '" + t.file_name + "': the dataset has no category names to build a caption from");
  const auto& names = sample.categories->names;
  const int64_t C = sample.categories->size();
  const int64_t n = t.num_boxes();
  std::vector<int64_t> labels(n);
  auto lab = n ? t.labels.to(torch::kCPU).to(torch::kLong).contiguous() : torch::zeros({0}, torch::kLong);
  for (int64_t k = 0; k < n; ++k) {
    labels[k] = lab[k].item<int64_t>();
    if (labels[k] < 0 || labels[k] >= C)
      throw DataError("grounding_caption: '" + t.file_name + "' label " + std::to_string(labels[k]) +
                      " is outside the " + std::to_string(C) + " categories");
  }
  std::set<int64_t> pos_set(labels.begin(), labels.end());
  std::vector<int64_t> chosen(pos_set.begin(), pos_set.end()), negatives;
  for (int64_t c = 0; c < C; ++c)
    if (!pos_set.count(c)) negatives.push_back(c);
  // random.sample of the negatives: a partial Fisher-Yates from SampleRng.
  const int64_t want = std::min<int64_t>(static_cast<int64_t>(negatives.size()),
                                         std::max<int64_t>(0, max_labels_ - static_cast<int64_t>(chosen.size())));
  for (int64_t i = 0; i < want; ++i) {
    const int64_t j = rng.randint(i, static_cast<int64_t>(negatives.size()) - 1);
    std::swap(negatives[i], negatives[j]);
  }
  // The token budget: positives always, negatives while they fit.
  auto cost = [&](int64_t c) {
    std::string lower = names[c];
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return static_cast<int64_t>(tokenizer_->tokenize(lower).size()) + 1;  // + " ."
  };
  int64_t used = 2;
  for (auto c : chosen) used += cost(c);
  if (used > max_tokens_)
    throw DataError("grounding_caption: '" + t.file_name + "': the names of its " + std::to_string(chosen.size()) +
                    " categories take " + std::to_string(used) + " tokens, over max_tokens " +
                    std::to_string(max_tokens_));
  for (int64_t i = 0; i < want; ++i) {
    const int64_t c = cost(negatives[i]);
    if (used + c > max_tokens_) break;
    used += c;
    chosen.push_back(negatives[i]);
  }
  // Shuffle (Fisher-Yates from the back, as the official loop).
  for (int64_t i = static_cast<int64_t>(chosen.size()) - 1; i > 0; --i) std::swap(chosen[i], chosen[rng.randint(0, i)]);
  std::string caption;
  std::vector<Span> span_of(C);
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (i) caption += " . ";
    const auto begin = static_cast<int64_t>(caption.size());
    std::string lower = names[chosen[i]];
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    caption += lower;
    span_of[chosen[i]] = {begin, static_cast<int64_t>(caption.size())};
  }
  caption += " .";
  t.caption = caption;
  t.tokens_positive.assign(n, {});
  for (int64_t k = 0; k < n; ++k) t.tokens_positive[k] = {span_of[labels[k]]};
}

std::shared_ptr<Transform> read_grounding_caption(const ConfigSection& s) {
  const auto max_labels = s.get<int64_t>("max_labels", 80, "names per caption, positives included (Open-GroundingDino: 80)");
  if (max_labels < 1) s.fail("max_labels", "must be >= 1");
  const auto max_tokens = s.get<int64_t>("max_tokens", 256, "word pieces per caption with [CLS] and [SEP]");
  if (max_tokens < 4) s.fail("max_tokens", "must be >= 4");
  const auto vocab = s.get<std::string>("vocab", "../shared/data/tokenizers/bert-base-uncased-vocab.txt",
                                        "WordPiece vocabulary that counts the tokens (the model's)");
  if (!std::filesystem::exists(vocab)) s.fail("vocab", "no such file '" + vocab + "'");
  return std::make_shared<GroundingCaption>(max_labels, max_tokens, std::make_shared<text::WordPieceTokenizer>(vocab));
}

}  // namespace seer
