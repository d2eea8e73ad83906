// The grounding_caption transform: detection records become captions of present
// and sampled absent class names with the spans of each box's name.
#include <gtest/gtest.h>

#include <set>

#include "core/config.h"
#include "core/error.h"
#include "data/grounding_caption.h"
#include "test_util.h"

namespace seer_test_test_grounding_caption {

namespace {

using namespace seer;

Sample sample(const CategoryTable& cats, std::vector<int64_t> labels) {
  Sample s;
  s.image = cv::Mat(32, 32, CV_8UC3, cv::Scalar(0, 0, 0));
  const auto n = static_cast<int64_t>(labels.size());
  s.target.boxes = torch::tensor({1.f, 1.f, 10.f, 10.f}).repeat({n, 1});
  s.target.labels = torch::tensor(labels, torch::kLong);
  s.target.file_name = "a.jpg";
  s.categories = &cats;
  return s;
}

TEST(GroundingCaption, PositivesNegativesSpansAndDeterminism) {
  SEER_REQUIRE_DATA(vocab, "tokenizers/bert-base-uncased-vocab.txt");
  CategoryTable cats;
  for (int i = 0; i < 30; ++i) cats.add(i + 1, "Thing " + std::to_string(i));
  auto cfg = Config::from_string("t: {type: grounding_caption, max_labels: 5, vocab: '" + vocab + "'}\n");
  auto tr = read_grounding_caption(cfg.root().sub("t"));
  Sample s = sample(cats, {3, 7, 3});
  SampleRng rng(11);
  tr->apply(s, rng);
  const auto& t = s.target;
  // 2 positives + 3 negatives, " . " separated, ending in " ."
  EXPECT_EQ(std::count(t.caption.begin(), t.caption.end(), '.'), 5) << t.caption;
  EXPECT_EQ(t.caption.substr(t.caption.size() - 2), " .");
  ASSERT_EQ(t.tokens_positive.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const auto sp = t.tokens_positive[k].at(0);
    const int label = k == 1 ? 7 : 3;
    EXPECT_EQ(t.caption.substr(sp.begin, sp.end - sp.begin), "thing " + std::to_string(label)) << t.caption;
  }
  EXPECT_EQ(t.tokens_positive[0], t.tokens_positive[2]);
  // same seed, same caption; another seed, (almost surely) another one
  Sample s2 = sample(cats, {3, 7, 3});
  SampleRng rng2(11);
  tr->apply(s2, rng2);
  EXPECT_EQ(s2.target.caption, t.caption);
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Sample s3 = sample(cats, {3, 7, 3});
    SampleRng r(seed);
    tr->apply(s3, r);
    seen.insert(s3.target.caption);
  }
  EXPECT_GT(seen.size(), 10u);
  // a record with a caption is left alone
  Sample g = sample(cats, {1});
  g.target.caption = "a thing";
  g.target.tokens_positive = {{{2, 7}}};
  tr->apply(g, rng);
  EXPECT_EQ(g.target.caption, "a thing");
}

TEST(GroundingCaption, TokenBudgetAndErrors) {
  SEER_REQUIRE_DATA(vocab, "tokenizers/bert-base-uncased-vocab.txt");
  CategoryTable cats;
  for (int i = 0; i < 100; ++i) cats.add(i + 1, "long class name number " + std::to_string(i));
  auto cfg = Config::from_string("t: {type: grounding_caption, max_labels: 100, max_tokens: 40, vocab: '" + vocab + "'}\n");
  auto tr = read_grounding_caption(cfg.root().sub("t"));
  Sample s = sample(cats, {0});
  SampleRng rng(1);
  tr->apply(s, rng);
  text::WordPieceTokenizer tok(vocab);
  EXPECT_LE(static_cast<int64_t>(tok.tokenize(s.target.caption).size()) + 2, 40) << s.target.caption;
  // the positives alone over the budget, a label outside the table, no table
  Sample over = sample(cats, {0, 1, 2, 3, 4, 5, 6});
  EXPECT_THROW(tr->apply(over, rng), DataError);
  Sample bad = sample(cats, {100});
  EXPECT_THROW(tr->apply(bad, rng), DataError);
  Sample none = sample(cats, {0});
  none.categories = nullptr;
  try {
    tr->apply(none, rng);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("'a.jpg'"), std::string::npos) << e.what();
  }
  auto bad_cfg = Config::from_string("t: {type: grounding_caption, vocab: /no/such/vocab.txt}\n");
  EXPECT_THROW(read_grounding_caption(bad_cfg.root().sub("t")), ConfigError);
}

}  // namespace

}  // namespace seer_test_test_grounding_caption
