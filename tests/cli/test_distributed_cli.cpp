// Data-parallel training end to end through the binary: two workers with batch 1
// take the same steps as one process with batch 2 (issue 7's acceptance test);
// the run folder is rank 0's alone; a worker that dies, a peer that never comes
// and bad launch settings end the job with one clear line instead of a hang.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "test_util.h"
namespace seer_test_test_distributed_cli {

namespace fs = std::filesystem;
using seer::test::CliResult;
using seer::test::run_command;

namespace {

std::string config() { return seer::test::source_path("tests/cli/detr_dist.yaml"); }

// `env` (VAR=value ...) set for one seer command.
CliResult run_with_env(const std::string& env, const std::string& args) {
  return run_command("env " + env + " " + seer::test::seer_binary() + " " + args);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string torchrun_env(int rank, int world, int port) {
  return "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) +
         " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port);
}

double max_weight_difference(const std::string& a, const std::string& b) {
  auto wa = seer::read_weights(a, "model").tensors, wb = seer::read_weights(b, "model").tensors;
  EXPECT_EQ(wa.size(), wb.size());
  double worst = 0;
  for (const auto& kv : wa) {
    const torch::Tensor* other = wb.find(kv.key());
    if (!other) {
      ADD_FAILURE() << kv.key() << " missing in " << b;
      continue;
    }
    worst = std::max(worst, (kv.value().to(torch::kDouble) - other->to(torch::kDouble)).abs().max().item<double>());
  }
  return worst;
}

// The evaluation line of a run's metrics.jsonl.
nlohmann::json eval_line(const std::string& run) {
  std::ifstream in(run + "/metrics.jsonl");
  std::string line;
  nlohmann::json found;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("bbox/AP")) found = j;
  }
  return found;
}

// One process with batch 2 and two workers with batch 1 (shared by the tests).
struct Runs {
  std::string dir;
  CliResult single, multi;
  Runs() {
    dir = seer::test::temp_dir("dist_cli");
    single = seer::test::run_seer("train " + config() + " --work-dir " + dir + "/single");
    multi = seer::test::run_seer("train " + config() + " --nproc 2 --set data.batch_size=1 --work-dir " + dir + "/multi");
  }
};
const Runs& runs() {
  static Runs r;
  return r;
}

}  // namespace

TEST(DistributedCli, TwoWorkersWithBatchOneMatchOneProcessWithBatchTwo) {
  const auto& r = runs();
  ASSERT_EQ(r.single.code, 0) << r.single.out;
  ASSERT_EQ(r.multi.code, 0) << r.multi.out;
  const double diff = max_weight_difference(r.dir + "/single/checkpoints/last.pt", r.dir + "/multi/checkpoints/last.pt");
  EXPECT_LT(diff, 1e-5);
  // the logged losses are means over the workers: those of the batch-2 run
  auto losses = [](const std::string& run) {
    std::vector<double> v;
    std::ifstream in(run + "/metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("loss")) v.push_back(j["loss"].get<double>());
    }
    return v;
  };
  auto la = losses(r.dir + "/single"), lb = losses(r.dir + "/multi");
  ASSERT_EQ(la.size(), 3u);
  ASSERT_EQ(lb.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(la[i], lb[i], 1e-4 * std::max(1.0, std::abs(la[i]))) << "iteration " << i + 1;
  // rank 0 evaluated all 3 val images (its 2 and rank 1's, padding dropped): the same numbers
  auto a = eval_line(r.dir + "/single"), b = eval_line(r.dir + "/multi");
  ASSERT_FALSE(a.is_null());
  ASSERT_FALSE(b.is_null());
  for (const char* k : {"bbox/AP", "bbox/AP50", "bbox/AR100", "bbox/APm"})
    EXPECT_NEAR(a[k].get<double>(), b[k].get<double>(), 1e-6) << k;
}

TEST(DistributedCli, OnlyRankZeroWritesTheRunFolderAndSpeaks) {
  const auto& r = runs();
  ASSERT_EQ(r.multi.code, 0) << r.multi.out;
  for (const char* f : {"config.yaml", "log.txt", "metrics.jsonl", "results.csv", "checkpoints/last.pt"})
    EXPECT_TRUE(fs::exists(r.dir + "/multi/" + f)) << f;
  // 3 iterations logged once each (not once per worker)
  std::ifstream m(r.dir + "/multi/metrics.jsonl");
  std::string line;
  int iters = 0;
  while (std::getline(m, line))
    if (line.find("\"loss\"") != std::string::npos) ++iters;
  EXPECT_EQ(iters, 3);
  EXPECT_NE(r.multi.out.find("rank 0 of 2"), std::string::npos) << r.multi.out;
  EXPECT_EQ(r.multi.out.find("rank 1 of 2"), std::string::npos) << "rank 1 logged at info level:\n" << r.multi.out;
}

TEST(DistributedCli, ResumedWorkersContinueTheSameSteps) {
  const auto& r = runs();
  ASSERT_EQ(r.single.code, 0) << r.single.out;
  const std::string run = r.dir + "/resumed";
  const std::string base = "train " + config() + " --nproc 2 --set data.batch_size=1 --work-dir " + run;
  CliResult first = seer::test::run_seer(base + " --set schedule.max_iters=2 --set train.eval_interval=0");
  ASSERT_EQ(first.code, 0) << first.out;
  CliResult second = seer::test::run_seer(base + " --resume --set train.eval_interval=0");
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_LT(max_weight_difference(r.dir + "/single/checkpoints/last.pt", run + "/checkpoints/last.pt"), 1e-5);
}

TEST(DistributedCli, AWorkerThatExitsStopsTheJobNamingIt) {
  const std::string dir = seer::test::temp_dir("dist_cli_fail");
  const std::string args = "train " + config() + " --nproc 2 --set data.batch_size=1 --work-dir " + dir;
  auto t0 = std::chrono::steady_clock::now();
  CliResult r = seer::test::run_seer(args + " --set runtime.inject_failure.rank=1");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("seer: error: worker rank 1 of 2 exited with status 3"), std::string::npos) << r.out;
  r = seer::test::run_seer(args + " --set runtime.inject_failure.rank=1 --set runtime.inject_failure.how=kill");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("worker rank 1 of 2 was killed by signal 9"), std::string::npos) << r.out;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 60);
}

TEST(DistributedCli, APeerThatDiesMakesTheOthersFailNotHang) {
  // started as torchrun would: rank 1 joins and exits at once, rank 0 must notice
  const std::string dir = seer::test::temp_dir("dist_cli_peer");
  const int port = free_port();
  const std::string args = "train " + config() + " --set data.batch_size=1 --set runtime.dist_timeout_s=30 --work-dir " + dir;
  const std::string cmd = "(" + torchrun_env(1, 2, port) + " " + seer::test::seer_binary() + " " + args +
                          " --set runtime.inject_failure.rank=1 >/dev/null 2>&1 &) ; " + torchrun_env(0, 2, port) + " " +
                          seer::test::seer_binary() + " " + args;
  auto t0 = std::chrono::steady_clock::now();
  CliResult r = run_command(cmd);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("seer: error: distributed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("failed on rank 0 of 2"), std::string::npos) << r.out;
  EXPECT_LT(seconds, 25) << "rank 0 waited for the timeout instead of noticing the closed connection";
}

TEST(DistributedCli, APeerThatNeverComesIsATimeout) {
  const std::string dir = seer::test::temp_dir("dist_cli_timeout");
  const std::string args = "train " + config() + " --set runtime.dist_timeout_s=2 --work-dir " + dir;
  for (int rank : {0, 1}) {  // the store's host waits for clients; a client waits for the host
    auto t0 = std::chrono::steady_clock::now();
    CliResult r = run_with_env(torchrun_env(rank, 2, free_port()), args);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("seer: error: rank " + std::to_string(rank) +
                         " of 2: could not join the process group at 127.0.0.1:"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("within runtime.dist_timeout_s = 2 s"), std::string::npos) << r.out;
    EXPECT_LT(seconds, 15);
  }
}

TEST(DistributedCli, BadLaunchSettingsAreUsageErrors) {
  const std::string dir = seer::test::temp_dir("dist_cli_bad");
  const std::string train = "train " + config() + " --work-dir " + dir;
  struct Case {
    std::string env, extra, needle;
  };
  const Case cases[] = {
      {"", "--nproc 0", "--nproc: expects a whole number of workers >= 1, got '0'"},
      {"", "--nproc two", "got 'two'"},
      {"", "--nproc -3", "got '-3'"},
      {"WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1", "", "environment variable MASTER_PORT is not set"},
      {"WORLD_SIZE=two", "", "WORLD_SIZE='two'"},
      {"WORLD_SIZE=2 RANK=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29999", "", "RANK='2'"},
      {torchrun_env(0, 2, 29999), "--nproc 2", "run without --nproc"},
      {"", "--set runtime.dist_timeout_s=0", "dist_timeout_s"},
      {"", "--set runtime.inject_failure.rank=-1", "runtime.inject_failure.rank: must be >= 0"},
      {"", "--set runtime.inject_failure.how=segv", "runtime.inject_failure.how: expects exit or kill, got 'segv'"},
  };
  for (const auto& c : cases) {
    CliResult r = run_with_env(c.env, train + " " + c.extra);
    EXPECT_EQ(r.code, 2) << c.env << " " << c.extra << "\n" << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << c.env << " " << c.extra << "\n" << r.out;
    int lines = static_cast<int>(std::count(r.out.begin(), r.out.end(), '\n'));
    EXPECT_EQ(lines, 1) << r.out;
  }
}

}  // namespace seer_test_test_distributed_cli
