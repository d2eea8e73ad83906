// Command-line forms: several KEY=VALUE pairs after one --set, and --text given
// to a model that takes no text.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.h"
namespace seer_test_test_cli_options {

namespace {

using seer::test::CliResult;
CliResult run(const std::string& args) { return seer::test::run_seer(args); }
std::string demo() { return seer::test::source_path("configs/demo/synthetic_data.yaml"); }
int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST(CliOptions, SetTakesSeveralPairsAfterOneFlag) {
  CliResult r = run("config " + demo() + " --set data.batch_size=7 runtime.seed=3 --set schedule.epochs=5");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("batch_size: 7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed: 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epochs: 5"), std::string::npos) << r.out;
  // the pairs end at the next option, which keeps its meaning
  CliResult k = run("config " + demo() + " --set runtime.seed=3 data.batch_size=7 --keys");
  ASSERT_EQ(k.code, 0) << k.out;
  EXPECT_NE(k.out.find("runtime.seed"), std::string::npos);
  // the config may come after the pairs, and an option name is never a value
  EXPECT_EQ(run("config --set runtime.seed=3 runtime.threads=1 " + demo()).code, 0);
  CliResult bad = run("config " + demo() + " --set --keys");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_EQ(lines(bad.out), 1) << bad.out;
  EXPECT_NE(bad.out.find("--set needs a value"), std::string::npos) << bad.out;
  // each pair is still checked
  CliResult typo = run("config " + demo() + " --set data.batch_size=7 runtime.sed=1");
  EXPECT_EQ(typo.code, 2) << typo.out;
  EXPECT_NE(typo.out.find("runtime.sed"), std::string::npos) << typo.out;
}

TEST(CliOptions, TextToAModelWithoutTextIsAOneLineUsageError) {
  const std::string cfg = seer::test::source_path("tests/cli/detr_tiny.yaml");
  // refused before any weights or image are read
  CliResult r = run("predict " + cfg + " --weights /nonexistent/w.pt --image /nonexistent/x.jpg --text 'a cat'");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(lines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("--text: the 'detr' model takes no text prompt"), std::string::npos) << r.out;
}

}  // namespace seer_test_test_cli_options
