// `seer tokenize` end to end: the built binary, its JSON and its error messages.
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>

#include "test_util.h"
namespace seer_test_test_tokenize_cli {

namespace {

using seer::test::CliResult;
CliResult seer_run(const std::string& args) { return seer::test::run_seer(args); }


std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

TEST(TokenizeCli, BertJson) {
  SEER_REQUIRE_DATA(vocab, "tokenizers/bert-base-uncased-vocab.txt");
  const CliResult r = seer_run("tokenize --tokenizer bert --vocab " + quote(vocab) + " --text 'Hello World!' --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], nlohmann::json({101, 7592, 2088, 999, 102}));
  EXPECT_EQ(j["tokens"], nlohmann::json({"[CLS]", "hello", "world", "!", "[SEP]"}));
  EXPECT_EQ(j["offsets"], nlohmann::json::parse("[[0,0],[0,5],[6,11],[11,12],[0,0]]"));
}

TEST(TokenizeCli, ClipJsonAndTable) {
  SEER_REQUIRE_DATA(bpe, "tokenizers/bpe_simple_vocab_16e6.txt.gz");
  const CliResult r = seer_run("tokenize --tokenizer clip --vocab " + quote(bpe) + " --text 'a photo of a cat' --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], nlohmann::json({49406, 320, 1125, 539, 320, 2368, 49407}));
  EXPECT_EQ(j["tokens"][2], "photo</w>");
  EXPECT_EQ(j["offsets"][2], nlohmann::json({2, 7}));
  const CliResult t = seer_run("tokenize --tokenizer clip --vocab " + quote(bpe) + " --text 'a photo of a cat'");
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("photo</w>"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("end token at position 6"), std::string::npos) << t.out;
}

void one_line_error(const CliResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.out;
  EXPECT_EQ(r.out.rfind("seer: error: ", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line expected: " << r.out;
  EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
}

// The errors that need no vocabulary run with or without the shared data.
TEST(TokenizeCli, BadArgumentsAreOneLineErrors) {
  one_line_error(seer_run("tokenize --tokenizer gpt --vocab x --text hi"), 2, "'bert' or 'clip'");
  one_line_error(seer_run("tokenize --tokenizer bert --vocab /nonexistent/vocab.txt --text hi"), 1,
                 "cannot open BERT vocabulary '/nonexistent/vocab.txt'");
}

TEST(TokenizeCli, BadInputIsOneLineError) {
  SEER_REQUIRE_DATA(vocab, "tokenizers/bert-base-uncased-vocab.txt");
  SEER_REQUIRE_DATA(bpe, "tokenizers/bpe_simple_vocab_16e6.txt.gz");
  one_line_error(seer_run("tokenize --tokenizer bert --vocab " + quote(vocab) + " --text ''"), 2, "--text is empty");
  one_line_error(seer_run("tokenize --tokenizer clip --vocab " + quote(vocab) + " --text hi"), 1, "is not a gzip file");
  one_line_error(seer_run("tokenize --tokenizer bert --vocab " + quote(bpe) + " --text hi"), 1, "invalid UTF-8");
  one_line_error(seer_run("tokenize --tokenizer bert --vocab " + quote(vocab) + " --text \"$(printf 'caf\\351')\""), 1,
                 "invalid UTF-8 at byte 3");
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += "dog ";
  one_line_error(seer_run("tokenize --tokenizer clip --vocab " + quote(bpe) + " --text " + quote(long_text)), 1,
                 "more than the context length 77");
}

}  // namespace

}  // namespace seer_test_test_tokenize_cli
