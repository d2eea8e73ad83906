// What a run leaves for people to read: elapsed_s on every metrics.jsonl line
// (continued across a resume) and plots with one panel per quantity.
#include <gtest/gtest.h>

#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "core/checkpoint.h"
#include "train/checkpointer.h"
#include "train/metrics_log.h"
#include "train/plots.h"
#include "train_fixture.h"
namespace seer_test_test_run_outputs {

using namespace seer;
using namespace seer::test;

namespace {

std::shared_ptr<BoxModel> new_model(uint64_t seed) {
  torch::manual_seed(seed);
  return std::make_shared<BoxModel>();
}

std::vector<double> elapsed_of_every_line(const std::string& jsonl) {
  std::vector<double> out;
  for (const auto& j : read_metrics_jsonl(jsonl)) {
    EXPECT_TRUE(j.contains("elapsed_s")) << j.dump();
    if (j.contains("elapsed_s")) out.push_back(j["elapsed_s"].get<double>());
  }
  return out;
}

// Rows [top, top+h) of `img` where a pixel has the plots' line colour (BGR 180,119,31).
std::pair<int, int> line_rows(const cv::Mat& img, const cv::Rect& panel) {
  cv::Mat mask;
  cv::inRange(img(panel), cv::Scalar(170, 109, 21), cv::Scalar(190, 129, 41), mask);
  cv::Rect r = cv::boundingRect(mask);
  return {r.y, r.y + r.height};
}

}  // namespace

TEST(RunOutputs, EveryMetricsLineCarriesElapsedSecondsContinuedOnResume) {
  std::string dir = temp_dir("run_elapsed");
  const std::vector<std::string> opts = {"train.checkpoint_every_iters=3"};
  auto s1 = make_setup(dir, opts, "run");
  auto t1 = make_trainer(s1, new_model(1));
  // slow iterations before the crash, so the time already spent is well above
  // what the resumed part takes
  t1->on_iteration = [](int64_t it, const LossDict&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    if (it == 7) throw std::runtime_error("simulated crash");
  };
  EXPECT_THROW(t1->fit(), std::runtime_error);
  Checkpoint c = read_checkpoint(s1.run.checkpoints() + "/last.pt");
  ASSERT_EQ(c.state.iter, 6);
  EXPECT_GE(c.state.elapsed_s, 6 * 0.15);
  const auto before = elapsed_of_every_line(s1.run.metrics_jsonl());
  ASSERT_FALSE(before.empty());
  EXPECT_LE(before.back(), c.state.elapsed_s);  // line 6 was written before the checkpoint

  auto s2 = make_setup(dir, opts, "run");
  auto t2 = make_trainer(s2, new_model(1));
  t2->fit(s2.run.checkpoints() + "/last.pt");
  auto lines = read_metrics_jsonl(s2.run.metrics_jsonl());
  const auto elapsed = elapsed_of_every_line(s2.run.metrics_jsonl());
  ASSERT_EQ(elapsed.size(), lines.size());
  // training lines 1..8 and two evaluation lines, the count never going back
  EXPECT_EQ(lines.size(), 10u);
  for (size_t i = 1; i < elapsed.size(); ++i) EXPECT_GE(elapsed[i], elapsed[i - 1]) << lines[i].dump();
  EXPECT_GT(elapsed.front(), 0.0);
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i]["iter"].get<int64_t>() > 6) EXPECT_GE(elapsed[i], c.state.elapsed_s) << lines[i].dump();
  EXPECT_GT(read_checkpoint(s2.run.checkpoints() + "/last.pt").state.elapsed_s, c.state.elapsed_s);
}

TEST(RunOutputs, LossPlotHasOnePanelPerTerm) {
  std::string dir = temp_dir("run_plots");
  auto s = make_setup(dir, {"train.log_interval=1"});
  make_trainer(s, new_model(2))->fit();
  // loss, loss_l1 and log/box_mean: three panels side by side
  cv::Mat loss = cv::imread(s.run.plots() + "/loss.png");
  ASSERT_FALSE(loss.empty());
  EXPECT_EQ(loss.cols, 3 * 320);
  // metrics: a panel per summary metric (COCO's -1 "no such objects" left out), rows of at most 5
  int n = 0;
  for (const auto& j : read_metrics_jsonl(s.run.metrics_jsonl()))
    if (!j.contains("loss")) {
      n = 0;
      for (const auto& [k, v] : j.items())
        n += k.find("bbox/") == 0 && k.find("/AP-") == std::string::npos && v.get<double>() != -1.0;
    }
  ASSERT_GT(n, 5);
  const int rows = (n + 4) / 5, cols = (n + rows - 1) / rows;
  cv::Mat metrics = cv::imread(s.run.plots() + "/metrics.png");
  ASSERT_FALSE(metrics.empty());
  EXPECT_EQ(metrics.cols, cols * 320);
  EXPECT_GT(metrics.rows, rows * 230);
  EXPECT_LT(metrics.rows, (rows + 1) * 230);
}

// Quantities of very different scales each fill their own panel's height.
TEST(RunOutputs, EveryPanelHasItsOwnScale) {
  std::string path = temp_dir("panels") + "/p.png";
  PlotSeries small{"loss_ce", {}, {}}, large{"log/class_error", {}, {}};
  for (int i = 0; i < 20; ++i) {
    small.x.push_back(i), small.y.push_back(1.0 - 0.01 * i);
    large.x.push_back(i), large.y.push_back(100.0 - 4.0 * i);
  }
  draw_panel_plot(path, "losses", "iteration", {small, large}, 320, 230);
  cv::Mat img = cv::imread(path);
  ASSERT_EQ(img.cols, 640);
  for (int k = 0; k < 2; ++k) {
    auto [lo, hi] = line_rows(img, {k * 320, 34, 320, 230});
    EXPECT_GT(hi - lo, 230 / 2) << "panel " << k << " rows " << lo << ".." << hi;
  }
  // 13 quantities: 3 rows of at most 5 panels
  std::vector<PlotSeries> many(13, small);
  draw_panel_plot(path, "losses", "iteration", many, 320, 230);
  img = cv::imread(path);
  EXPECT_EQ(img.cols, 5 * 320);
  EXPECT_GT(img.rows, 3 * 230);
  EXPECT_LT(img.rows, 4 * 230);
}

}  // namespace seer_test_test_run_outputs
