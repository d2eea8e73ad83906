// Tokenizer behaviour beyond the official vectors: special tokens, pairs,
// truncation, padding, offsets, and clear errors for bad input.
#include <zlib.h>

#include <fstream>

#include "core/error.h"
#include "test_util.h"
#include "text/clip_bpe.h"
#include "text/unicode.h"
#include "text/wordpiece.h"
namespace seer_test_test_tokenizers {

namespace {

using seer::DataError;
using seer::text::ClipTokenizer;
using seer::text::EncodeOptions;
using seer::text::Truncation;
using seer::text::WordPieceTokenizer;

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
}

// The message of the DataError `fn` throws ("" when it throws none).
template <class F>
std::string data_error(F fn) {
  try {
    fn();
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "message must be one line: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no DataError thrown";
  return "";
}

constexpr const char* kBertVocab = "tokenizers/bert-base-uncased-vocab.txt";
constexpr const char* kClipBpe = "tokenizers/bpe_simple_vocab_16e6.txt.gz";

#define EXPECT_HAS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << haystack

class Bert : public ::testing::Test {
 protected:
  void SetUp() override {
    vocab_ = seer::test::data_file(kBertVocab);
    if (vocab_.empty()) {
      SEER_SKIP_MISSING_DATA(kBertVocab);
    }
    tok_ = std::make_unique<WordPieceTokenizer>(vocab_);
  }
  std::string vocab_;
  std::unique_ptr<WordPieceTokenizer> tok_;
};

TEST_F(Bert, SpecialTokensTypeIdsAndMask) {
  EXPECT_EQ(tok_->vocab_size(), 30522);
  const auto e = tok_->encode("Hello World");
  EXPECT_EQ(e.ids, (std::vector<int64_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "hello", "world", "[SEP]"}));
  EXPECT_EQ(e.type_ids, (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(e.attention_mask, (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(e.sequence_ids, (std::vector<int>{-1, 0, 0, -1}));
  EXPECT_EQ(e.num_truncated, 0);

  const auto p = tok_->encode_pair("My name is John", "pair");
  EXPECT_EQ(p.ids, (std::vector<int64_t>{101, 2026, 2171, 2003, 2198, 102, 3940, 102}));
  EXPECT_EQ(p.type_ids, (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(p.sequence_ids, (std::vector<int>{-1, 0, 0, 0, 0, -1, 1, -1}));
  EXPECT_EQ(p.offsets[6].begin, 0);
  EXPECT_EQ(p.offsets[6].end, 4);
}

TEST_F(Bert, EmptyTextIsJustSpecialTokens) {
  // The official tokenizer returns no tokens for "" (and for whitespace/control-only text).
  EXPECT_TRUE(tok_->tokenize("").empty());
  EXPECT_TRUE(tok_->tokenize(" \t\n\x01").empty());
  EXPECT_EQ(tok_->encode("").ids, (std::vector<int64_t>{101, 102}));
}

TEST_F(Bert, OffsetsPointIntoTheOriginalText) {
  // Accents are stripped and case folded, but offsets cover the original bytes.
  const std::string text = "Café  NAÏVE, 北京!";
  const auto e = tok_->encode(text);
  std::vector<std::string> covered;
  for (size_t i = 1; i + 1 < e.offsets.size(); ++i)
    covered.push_back(text.substr(e.offsets[i].begin, e.offsets[i].end - e.offsets[i].begin));
  EXPECT_EQ(covered, (std::vector<std::string>{"Café", "NAÏVE", ",", "北", "京", "!"}));
  // A caption span (bytes) to token positions, as tokens_positive needs.
  const int64_t b = text.find("NAÏVE");
  EXPECT_EQ(e.tokens_in_span(b, b + 6), (std::vector<int64_t>{2}));
  EXPECT_EQ(e.tokens_in_span(0, static_cast<int64_t>(text.size())).size(), 6u);
  // Word pieces of one word split its span.
  const auto g = tok_->encode("giraffe");
  EXPECT_EQ(g.tokens, (std::vector<std::string>{"[CLS]", "gi", "##raf", "##fe", "[SEP]"}));
  EXPECT_EQ(g.offsets[1], (seer::text::Offset{0, 2}));
  EXPECT_EQ(g.offsets[2], (seer::text::Offset{2, 5}));
  EXPECT_EQ(g.offsets[3], (seer::text::Offset{5, 7}));
}

TEST_F(Bert, WordLimitGivesUnk) {
  const auto pieces = tok_->tokenize(std::string(100, 'a'));  // 100 a's: still word pieces...
  ASSERT_GT(pieces.size(), 1u);
  EXPECT_NE(pieces[0].token, "[UNK]");
  const auto unk = tok_->tokenize(std::string(101, 'a'));  // ...101 is over Hugging Face's limit
  ASSERT_EQ(unk.size(), 1u);
  EXPECT_EQ(unk[0].token, "[UNK]");
  EXPECT_EQ(unk[0].offset, (seer::text::Offset{0, 101}));
}

TEST_F(Bert, TruncationIsExplicitAndReported) {
  const std::string text = "one two three four five six seven";
  EncodeOptions o;
  o.max_length = 5;
  const std::string msg = data_error([&] { tok_->encode(text, o); });
  EXPECT_HAS(msg, "9 tokens");
  EXPECT_HAS(msg, "max_length 5");
  EXPECT_HAS(msg, "truncation");

  // The message quotes the text on one line, whatever it holds.
  EXPECT_HAS(data_error([&] { tok_->encode("a\nb c d e f", o); }), "'a\\x0ab c d e f'");

  o.truncation = Truncation::kLongestFirst;
  const auto e = tok_->encode(text, o);
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "one", "two", "three", "[SEP]"}));
  EXPECT_EQ(e.num_truncated, 4);

  // Pairs: longest first drops from the longer text, the second on ties.
  o.max_length = 8;
  const auto p = tok_->encode_pair("a b c d e", "x y", o);
  EXPECT_EQ(p.tokens, (std::vector<std::string>{"[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"}));
  EXPECT_EQ(p.num_truncated, 2);
  o.max_length = 6;
  const auto q = tok_->encode_pair("a b", "x y", o);
  EXPECT_EQ(q.tokens, (std::vector<std::string>{"[CLS]", "a", "b", "[SEP]", "x", "[SEP]"}));
  o.truncation = Truncation::kOnlySecond;
  o.max_length = 7;
  EXPECT_EQ(tok_->encode_pair("a b c", "x y z", o).tokens,
            (std::vector<std::string>{"[CLS]", "a", "b", "c", "[SEP]", "x", "[SEP]"}));
  o.max_length = 5;
  EXPECT_HAS(data_error([&] { tok_->encode_pair("a b c", "x y z", o); }), "second text has only 3 tokens");
  o.max_length = 1;
  o.truncation = Truncation::kLongestFirst;
  EXPECT_HAS(data_error([&] { tok_->encode("a", o); }), "special tokens");
}

TEST_F(Bert, PaddingAndAttentionMask) {
  EncodeOptions o;
  o.max_length = 8;
  o.pad_to_max_length = true;
  const auto e = tok_->encode("a cat", o);
  EXPECT_EQ(e.ids, (std::vector<int64_t>{101, 1037, 4937, 102, 0, 0, 0, 0}));
  EXPECT_EQ(e.attention_mask, (std::vector<int64_t>{1, 1, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(e.length(), 4);
  EXPECT_EQ(e.tokens.back(), "[PAD]");
}

TEST_F(Bert, InvalidUtf8IsAClearError) {
  EXPECT_HAS(data_error([&] { tok_->tokenize("ab\xff"); }), "text 'ab\\xff': invalid UTF-8 at byte 2 (byte 0xff)");
  EXPECT_HAS(data_error([&] { tok_->tokenize("\xc3"); }), "invalid UTF-8");         // truncated sequence
  EXPECT_HAS(data_error([&] { tok_->tokenize("\xc0\xaf"); }), "invalid UTF-8");     // overlong '/'
  EXPECT_HAS(data_error([&] { tok_->tokenize("\xed\xa0\x80"); }), "invalid UTF-8"); // surrogate
  EXPECT_HAS(data_error([&] { tok_->tokenize("\xf4\x90\x80\x80"); }), "invalid UTF-8");  // > U+10FFFF
}

TEST(BertVocab, MissingOrCorruptVocabulary) {
  const std::string dir = seer::test::temp_dir("bert_vocab");
  EXPECT_HAS(data_error([&] { WordPieceTokenizer(dir + "/nope.txt"); }), "cannot open BERT vocabulary '" + dir + "/nope.txt'");
  write_file(dir + "/empty.txt", "");
  EXPECT_HAS(data_error([&] { WordPieceTokenizer(dir + "/empty.txt"); }), "has no '[UNK]' token");
  write_file(dir + "/bin.txt", "[PAD]\n[UNK]\n\x89PNG\r\n");
  EXPECT_HAS(data_error([&] { WordPieceTokenizer(dir + "/bin.txt"); }), "line 3: invalid UTF-8");
  // A minimal vocabulary works, with \r\n line ends and padding whitespace stripped.
  write_file(dir + "/tiny.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n  hello \r\n##s\r\n");
  WordPieceTokenizer tiny(dir + "/tiny.txt");
  EXPECT_EQ(tiny.encode("hellos xyz").ids, (std::vector<int64_t>{2, 4, 5, 1, 3}));
}

TEST(BertVocab, ClipVocabularyIsNotABertVocabulary) {
  SEER_REQUIRE_DATA(bpe, kClipBpe);
  EXPECT_HAS(data_error([&] { WordPieceTokenizer{bpe}; }), "invalid UTF-8");
}

class Clip : public ::testing::Test {
 protected:
  void SetUp() override {
    bpe_ = seer::test::data_file(kClipBpe);
    if (bpe_.empty()) {
      SEER_SKIP_MISSING_DATA(kClipBpe);
    }
    tok_ = std::make_unique<ClipTokenizer>(bpe_);
  }
  std::string bpe_;
  std::unique_ptr<ClipTokenizer> tok_;
};

TEST_F(Clip, ContextLengthPaddingAndEndToken) {
  EXPECT_EQ(tok_->vocab_size(), 49408);
  const auto e = tok_->encode("a photo of a cat");
  ASSERT_EQ(e.size(), 77);
  EXPECT_EQ(std::vector<int64_t>(e.ids.begin(), e.ids.begin() + 8),
            (std::vector<int64_t>{49406, 320, 1125, 539, 320, 2368, 49407, 0}));
  EXPECT_EQ(e.eot_position, 6);
  EXPECT_EQ(e.length(), 7);
  EXPECT_EQ(e.attention_mask[6], 1);
  EXPECT_EQ(e.attention_mask[7], 0);
  EXPECT_EQ(e.offsets[2], (seer::text::Offset{2, 7}));  // "photo"
  // Empty text: just the start and end tokens.
  EXPECT_EQ(tok_->encode("").eot_position, 1);
}

TEST_F(Clip, TooLongTextNeedsExplicitTruncation) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "cat ";
  const std::string msg = data_error([&] { tok_->encode(text); });
  EXPECT_HAS(msg, "102 tokens");
  EXPECT_HAS(msg, "context length 77");
  auto o = ClipTokenizer::default_options();
  o.truncation = Truncation::kLongestFirst;
  const auto e = tok_->encode(text, o);
  ASSERT_EQ(e.size(), 77);
  EXPECT_EQ(e.ids[0], 49406);
  EXPECT_EQ(e.ids[75], 2368);
  EXPECT_EQ(e.ids[76], 49407);  // clip.tokenize(truncate=True) puts the end token last
  EXPECT_EQ(e.eot_position, 76);
  EXPECT_EQ(e.num_truncated, 25);
}

TEST_F(Clip, HtmlAndWhitespaceCleanupKeepOffsets) {
  const std::string text = "  Tom &amp; Jerry\t\t&lt;3 ";
  const auto p = tok_->tokenize(text);
  std::vector<std::string> covered;
  for (const auto& x : p) covered.push_back(text.substr(x.offset.begin, x.offset.end - x.offset.begin));
  EXPECT_EQ(covered, (std::vector<std::string>{"Tom", "&amp;", "Jerry", "&lt;", "3"}));
  EXPECT_HAS(data_error([&] { tok_->tokenize("caf\xe9"); }), "invalid UTF-8 at byte 3");
}

TEST(ClipVocab, MissingOrCorruptVocabulary) {
  const std::string dir = seer::test::temp_dir("clip_vocab");
  EXPECT_HAS(data_error([&] { ClipTokenizer(dir + "/nope.gz"); }), "cannot open CLIP BPE vocabulary");
  write_file(dir + "/plain.txt", "#version: 0.2\ni n\n");
  EXPECT_HAS(data_error([&] { ClipTokenizer(dir + "/plain.txt"); }), "is not a gzip file");
  write_gz(dir + "/short.gz", "#version: 0.2\ni n\nt h\n");
  EXPECT_HAS(data_error([&] { ClipTokenizer(dir + "/short.gz"); }), "has only 2 merge rules, expected 48894");
  write_gz(dir + "/bad.gz", "#version: 0.2\ni n\nthree parts here\n");
  EXPECT_HAS(data_error([&] { ClipTokenizer(dir + "/bad.gz"); }), "line 3: expected a merge 'A B'");
}

TEST(ClipVocab, TruncatedGzipIsCorrupt) {
  SEER_REQUIRE_DATA(bpe, kClipBpe);
  const std::string dir = seer::test::temp_dir("clip_vocab_cut");
  std::ifstream in(bpe, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  write_file(dir + "/cut.gz", bytes.substr(0, bytes.size() / 2));
  EXPECT_HAS(data_error([&] { ClipTokenizer(dir + "/cut.gz"); }), "is corrupt");
}

TEST(Unicode, LowerFinalSigmaAndNfd) {
  using namespace seer::text::unicode;
  auto str = [](const std::vector<Char>& v) { return to_utf8(v, 0, v.size()); };
  EXPECT_EQ(str(lower(decode_utf8("ΟΔΟΣ ΣΑΣ. Σ"))), "οδος σας. σ");
  EXPECT_EQ(str(lower(decode_utf8("İ"))), "i\xcc\x87");
  EXPECT_EQ(str(nfd(decode_utf8("é한"))), "e\xcc\x81\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab");
  // Canonical ordering: cedilla (202) before acute (230) whatever the input order.
  EXPECT_EQ(str(nfd(decode_utf8("e\xcc\x81\xcc\xa7"))), "e\xcc\xa7\xcc\x81");
  EXPECT_EQ(str(html_unescape(decode_utf8("&amp;&ampx&#65;&#x110000;&#128;&bogus;"))),
            "&&xA\xef\xbf\xbd\xe2\x82\xac&bogus;");
}

}  // namespace

}  // namespace seer_test_test_tokenizers
