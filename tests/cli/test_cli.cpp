// The seer binary: help, version, exit codes and one-line errors.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>

#include "test_util.h"
namespace seer_test_test_cli {

namespace {

using Result = seer::test::CliResult;
Result run(const std::string& args) { return seer::test::run_seer(args); }


int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

std::string cfg(const std::string& rel) { return seer::test::source_path(rel); }

}  // namespace

TEST(Cli, HelpListsEverySubcommand) {
  Result r = run("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* c : {"train", "eval", "predict", "export", "coco-eval", "config", "tokenize", "browse-data"})
    EXPECT_NE(r.out.find(std::string("  ") + c + " "), std::string::npos) << c << "\n" << r.out;
  EXPECT_EQ(run("").code, 2);
}

TEST(Cli, VersionAndSubcommandHelp) {
  Result v = run("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("seer ", 0), 0u) << v.out;
  for (const char* c : {"train", "eval", "predict", "export", "coco-eval", "config", "tokenize", "browse-data"}) {
    Result h = run(std::string(c) + " --help");
    EXPECT_EQ(h.code, 0) << c;
    EXPECT_NE(h.out.find(std::string("usage: seer ") + c), std::string::npos) << h.out;
  }
  EXPECT_NE(run("predict --help").out.find("--weights CKPT"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwoWithOneLine) {
  for (const char* args : {"trian x.yaml", "config", "config a.yaml b.yaml", "eval x.yaml --wieghts w.pt",
                           "predict x.yaml --weights w.pt", "config x.yaml --set"}) {
    Result r = run(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.out;
    EXPECT_EQ(lines(r.out), 1) << args << ": " << r.out;
    EXPECT_EQ(r.out.rfind("seer: error: ", 0), 0u) << r.out;
  }
  EXPECT_NE(run("trian x.yaml").out.find("did you mean 'train'"), std::string::npos);
  EXPECT_NE(run("eval x.yaml --wieghts w.pt").out.find("did you mean '--weights'"), std::string::npos);
}

TEST(Cli, ConfigResolvesBasesAndOverrides) {
  Result r = run("config " + cfg("configs/demo/synthetic_data.yaml") + " --set data.batch_size=7 --set runtime.seed=3");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("batch_size: 7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed: 3"), std::string::npos);
  EXPECT_NE(r.out.find("random_horizontal_flip"), std::string::npos);  // from the dataset base
  EXPECT_NE(r.out.find("deterministic: false"), std::string::npos);  // from the runtime base
  EXPECT_NE(r.out.find("max_detections: 100"), std::string::npos);   // a default filled in
  Result keys = run("config " + cfg("configs/demo/synthetic_data.yaml") + " --keys");
  EXPECT_EQ(keys.code, 0);
  EXPECT_NE(keys.out.find("runtime.seed"), std::string::npos);
  EXPECT_NE(keys.out.find("schedule.max_iters"), std::string::npos);
}

TEST(Cli, MisspeltKeyNamesFileKeyAndSuggestion) {
  std::string dir = seer::test::temp_dir("cli_typo");
  std::ofstream(dir + "/typo.yaml") << "_base_: [" << cfg("configs/demo/synthetic_data.yaml") << "]\ndata:\n  batch_sise: 3\n";
  Result r = run("config " + dir + "/typo.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find(dir + "/typo.yaml"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'data.batch_sise'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'data.batch_size'"), std::string::npos) << r.out;
  Result s = run("config " + cfg("configs/demo/synthetic_data.yaml") + " --set runtime.sed=1");
  EXPECT_EQ(s.code, 2);
  EXPECT_NE(s.out.find("--set"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("did you mean 'runtime.seed'"), std::string::npos) << s.out;
  Result t = run("config " + cfg("configs/demo/synthetic_data.yaml") + " --set data.batch_size=many");
  EXPECT_EQ(t.code, 2);
  EXPECT_NE(t.out.find("expects int"), std::string::npos) << t.out;
}

}  // namespace seer_test_test_cli
