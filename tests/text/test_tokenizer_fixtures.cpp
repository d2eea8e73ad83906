// The tokenizers against vectors produced by the official Python code:
// tests/data/text/*_vectors.json (scripts/fixtures/make_text_fixtures.py) and the
// shared tokenizer_test_vectors.json. ids, tokens and offsets must match exactly.
#include <nlohmann/json.hpp>

#include <fstream>

#include "test_util.h"
#include "text/clip_bpe.h"
#include "text/wordpiece.h"
namespace seer_test_test_tokenizer_fixtures {

namespace {

using nlohmann::json;
using seer::text::ClipTokenizer;
using seer::text::Offset;
using seer::text::Piece;
using seer::text::WordPieceOptions;
using seer::text::WordPieceTokenizer;

json load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return json::parse(in);
}

std::vector<int64_t> ids_of(const std::vector<Piece>& p) {
  std::vector<int64_t> v;
  for (const auto& x : p) v.push_back(x.id);
  return v;
}
std::vector<std::string> tokens_of(const std::vector<Piece>& p) {
  std::vector<std::string> v;
  for (const auto& x : p) v.push_back(x.token);
  return v;
}
std::vector<std::vector<int64_t>> offsets_of(const std::vector<Piece>& p) {
  std::vector<std::vector<int64_t>> v;
  for (const auto& x : p) v.push_back({x.offset.begin, x.offset.end});
  return v;
}

// Compares every vector; returns how many matched, and fails listing the first misses.
template <class Tok>
int check_vectors(const Tok& tok, const json& vectors, bool with_offsets) {
  int matched = 0, shown = 0;
  for (const auto& v : vectors) {
    const std::string text = v["text"];
    const auto pieces = tok.tokenize(text);
    bool ok = ids_of(pieces) == v["ids"].get<std::vector<int64_t>>() &&
              tokens_of(pieces) == v["tokens"].get<std::vector<std::string>>();
    if (with_offsets) ok = ok && offsets_of(pieces) == v["offsets"].get<std::vector<std::vector<int64_t>>>();
    if (ok) {
      ++matched;
    } else if (shown++ < 5) {
      ADD_FAILURE() << "mismatch for " << json(text).dump() << "\n  got ids " << json(ids_of(pieces)).dump()
                    << " offsets " << json(offsets_of(pieces)).dump() << "\n  want ids " << v["ids"].dump()
                    << " offsets " << (with_offsets ? v["offsets"].dump() : "-");
    }
  }
  return matched;
}

TEST(TokenizerFixtures, BertMatchesOfficial) {
  SEER_REQUIRE_DATA(vocab, "tokenizers/bert-base-uncased-vocab.txt");
  const json j = load_json(seer::test::fixture("text/bert_vectors.json"));
  WordPieceTokenizer tok(vocab);
  const int matched = check_vectors(tok, j["vectors"], true);
  EXPECT_EQ(matched, static_cast<int>(j["vectors"].size()));
  std::printf("[ BERT ] %d / %zu official vectors match (ids, tokens, offsets)\n", matched, j["vectors"].size());
}

TEST(TokenizerFixtures, BertWordLimit200MatchesOfficialDefault) {
  SEER_REQUIRE_DATA(vocab, "tokenizers/bert-base-uncased-vocab.txt");
  const json j = load_json(seer::test::fixture("text/bert_vectors.json"));
  WordPieceOptions opt;
  opt.max_chars_per_word = 200;
  WordPieceTokenizer tok(vocab, opt);
  int n = 0;
  for (const auto& v : j["vectors"]) {
    if (!v.contains("ids_max_chars_200")) continue;
    ++n;
    EXPECT_EQ(ids_of(tok.tokenize(v["text"])), v["ids_max_chars_200"].get<std::vector<int64_t>>()) << v["text"];
  }
  EXPECT_GT(n, 0);
}

TEST(TokenizerFixtures, ClipMatchesOfficial) {
  SEER_REQUIRE_DATA(bpe, "tokenizers/bpe_simple_vocab_16e6.txt.gz");
  const json j = load_json(seer::test::fixture("text/clip_vectors.json"));
  ClipTokenizer tok(bpe);
  const int matched = check_vectors(tok, j["vectors"], true);
  EXPECT_EQ(matched, static_cast<int>(j["vectors"].size()));
  std::printf("[ CLIP ] %d / %zu official vectors match (ids, tokens, offsets)\n", matched, j["vectors"].size());
}

TEST(TokenizerFixtures, SharedVectors) {
  SEER_REQUIRE_DATA(path, "tokenizers/tokenizer_test_vectors.json");
  SEER_REQUIRE_DATA(vocab, "tokenizers/bert-base-uncased-vocab.txt");
  SEER_REQUIRE_DATA(bpe, "tokenizers/bpe_simple_vocab_16e6.txt.gz");
  const json j = load_json(path);
  WordPieceTokenizer bert(vocab);
  ClipTokenizer clip(bpe);
  int total = 0;
  for (const char* key : {"bert", "bert_unicode", "clip", "clip_unicode"}) {
    const bool is_bert = std::string(key).rfind("bert", 0) == 0;
    const int matched = is_bert ? check_vectors(bert, j[key], false) : check_vectors(clip, j[key], false);
    EXPECT_EQ(matched, static_cast<int>(j[key].size())) << key;
    total += matched;
    for (const auto& v : j[key]) {  // with special tokens
      const auto enc = is_bert ? bert.encode(v["text"]) : clip.encode(v["text"], [] {
        auto o = ClipTokenizer::default_options();
        o.pad_to_max_length = false;
        return o;
      }());
      EXPECT_EQ(enc.ids, v["ids_with_special"].get<std::vector<int64_t>>()) << key << ": " << v["text"];
    }
  }
  for (const auto& v : j["published_vectors"]) {
    const std::string name = v["tokenizer"];
    if (name.find("bert") != std::string::npos) {
      const auto ids = v["text"].is_array() ? bert.encode_pair(v["text"][0], v["text"][1]).ids : bert.encode(v["text"]).ids;
      EXPECT_EQ(ids, v["ids"].get<std::vector<int64_t>>()) << v["source"];
    } else if (v.contains("ids_padded77_prefix")) {  // clip.tokenize(): padded to 77
      const auto ids = clip.encode(v["text"]).ids;
      const auto want = v["ids_padded77_prefix"].get<std::vector<int64_t>>();
      ASSERT_EQ(ids.size(), 77u);
      EXPECT_EQ(std::vector<int64_t>(ids.begin(), ids.begin() + want.size()), want) << v["source"];
      for (size_t i = want.size(); i < ids.size(); ++i) EXPECT_EQ(ids[i], 0);
    } else {  // SimpleTokenizer.encode(): no start/end tokens
      EXPECT_EQ(ids_of(clip.tokenize(v["text"])), v["ids"].get<std::vector<int64_t>>()) << v["source"];
    }
    ++total;
  }
  std::printf("[ shared ] %d shared vectors match\n", total);
}

}  // namespace

}  // namespace seer_test_test_tokenizer_fixtures
