#include "core/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <mutex>
#include <sstream>

namespace seer {

namespace {
std::mutex g_log_mutex;
std::shared_ptr<spdlog::logger> g_logger;
std::shared_ptr<spdlog::sinks::basic_file_sink_mt> g_file_sink;

std::shared_ptr<spdlog::logger> make_logger() {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_pattern("%^[%H:%M:%S %l]%$ %v");
  auto logger = std::make_shared<spdlog::logger>("seer", console);
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::warn);
  return logger;
}
}  // namespace

spdlog::logger& log() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (!g_logger) g_logger = make_logger();
  return *g_logger;
}

void log_to_file(const std::string& path) {
  log();  // make sure it exists
  std::lock_guard<std::mutex> lock(g_log_mutex);
  auto& sinks = g_logger->sinks();
  if (g_file_sink) sinks.erase(std::remove(sinks.begin(), sinks.end(), g_file_sink), sinks.end());
  g_file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  g_file_sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e %l] %v");
  sinks.push_back(g_file_sink);
  g_logger->flush_on(spdlog::level::info);
}

void set_log_level(const std::string& level) { log().set_level(spdlog::level::from_str(level)); }

// ---------------------------------------------------------------- Progress
namespace {
std::string fmt_duration(double s) {
  if (s < 0 || s > 1e7) return "?";
  int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", long(t / 3600), long(t / 60 % 60), long(t % 60));
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", long(t / 60), long(t % 60));
  return buf;
}
}  // namespace

Progress::Progress(std::string label, int64_t total, double plain_interval_s)
    : label_(std::move(label)), total_(total), plain_interval_(plain_interval_s),
      // no bar when the log level hides info lines (e.g. non-main distributed workers)
      tty_(isatty(fileno(stderr)) != 0 && log().should_log(spdlog::level::info)),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (!finished_ && tty_ && done_ > 0) std::fputc('\n', stderr);
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::render(int64_t done, const std::string& status, bool full_bar) const {
  double el = elapsed();
  double rate = el > 0 ? done / el : 0.0;
  std::ostringstream os;
  os << label_ << " ";
  if (total_ > 0) {
    double frac = std::min(1.0, double(done) / double(total_));
    if (full_bar) {
      const int width = 24;
      int filled = static_cast<int>(frac * width);
      os << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
    }
    os << done << "/" << total_ << " " << std::fixed << std::setprecision(2) << rate << " it/s"
       << " elapsed " << fmt_duration(el) << " eta " << fmt_duration(rate > 0 ? (total_ - done) / rate : -1);
  } else {
    os << done << " " << std::fixed << std::setprecision(2) << rate << " it/s elapsed " << fmt_duration(el);
  }
  if (!status.empty()) os << " | " << status;
  return os.str();
}

void Progress::update(int64_t done, const std::string& status) {
  done_ = done;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  if (tty_) {
    if (since < 0.1 && done < total_) return;
    std::fprintf(stderr, "\r\033[K%s", render(done, status, true).c_str());
    std::fflush(stderr);
    last_print_ = now;
  } else if (since >= plain_interval_) {
    log().info("{}", render(done, status, false));
    last_print_ = now;
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s\n", render(done_, status, true).c_str());
    std::fflush(stderr);
  } else {
    log().info("{}", render(done_, status, false));
  }
}

}  // namespace seer
