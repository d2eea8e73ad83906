// The run folder holds the resolved config (defaults included) and log.txt.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/logging.h"
#include "cli/resolve.h"
#include "train/run_dir.h"
#include "test_util.h"
namespace seer_test_test_run_dir {

using namespace seer;

TEST(RunDir, WritesResolvedConfigAndLog) {
  std::string dir = test::temp_dir("run_dir");
  ResolvedConfig r = resolve_config(test::source_path("configs/demo/synthetic_data.yaml"), {"data.batch_size=5"});
  RunDir run = open_run_dir(r.config, dir, r.runtime.name);
  EXPECT_EQ(run.root, dir + "/synthetic_data");
  for (const auto& d : {run.plots(), run.vis(), run.checkpoints()}) EXPECT_TRUE(std::filesystem::is_directory(d));
  std::stringstream ss;
  ss << std::ifstream(run.config_yaml()).rdbuf();
  EXPECT_NE(ss.str().find("batch_size: 5"), std::string::npos);
  EXPECT_NE(ss.str().find("max_detections: 100"), std::string::npos);
  // the saved config resolves again to the same values
  ResolvedConfig again = resolve_config(run.config_yaml(), {});
  EXPECT_EQ(again.data.train->loader.batch_size, 5);
  log().info("hello run folder");
  log().flush();
  std::stringstream lg;
  lg << std::ifstream(run.log_txt()).rdbuf();
  EXPECT_NE(lg.str().find("hello run folder"), std::string::npos);
}

}  // namespace seer_test_test_run_dir
