#include "cli/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

#include "core/error.h"
#include "core/logging.h"

namespace seer::cli {

namespace {

// A TCP port nobody listens on right now (the kernel's pick; rank 0's store
// binds it a moment later).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw RuntimeError(std::string("--nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    throw RuntimeError("--nproc: cannot find a free port on 127.0.0.1: " + err);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

bool failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

pid_t spawn(int rank, int nproc, int port, const std::vector<std::string>& args) {
  std::vector<std::string> argv_s{"seer"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw RuntimeError(std::string("--nproc: cannot start a worker: ") + std::strerror(errno));
  if (pid > 0) return pid;
  // child: only async-signal-safe work until exec
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);  // the launcher is already gone
  const std::string r = std::to_string(rank), n = std::to_string(nproc), p = std::to_string(port);
  ::setenv("RANK", r.c_str(), 1);
  ::setenv("LOCAL_RANK", r.c_str(), 1);
  ::setenv("WORLD_SIZE", n.c_str(), 1);
  ::setenv("LOCAL_WORLD_SIZE", n.c_str(), 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", p.c_str(), 1);
  ::execv("/proc/self/exe", argv.data());
  ::_exit(127);
}

}  // namespace

int parse_nproc(const std::string& value) {
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || n < 1 || n > 4096)
    throw UsageError("--nproc: expects a whole number of workers >= 1, got '" + value + "'");
  return static_cast<int>(n);
}

int launch_local_workers(int nproc, const std::vector<std::string>& args) {
  const int port = free_port();
  log().info("launching {} workers (MASTER_ADDR=127.0.0.1 MASTER_PORT={})", nproc, port);
  std::map<pid_t, int> running;  // pid -> rank
  std::string failure;
  for (int rank = 0; rank < nproc; ++rank) {
    try {
      running[spawn(rank, nproc, port, args)] = rank;
    } catch (const Error& e) {
      failure = e.what();
      break;
    }
  }
  // Wait for every worker; the first failure stops the others.
  auto stop_others = [&] {
    for (const auto& [pid, rank] : running) ::kill(pid, SIGTERM);
  };
  if (!failure.empty()) stop_others();
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (!running.empty()) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, deadline == std::chrono::steady_clock::time_point::max() ? 0 : WNOHANG);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // no children left
    }
    if (pid == 0) {  // stopping: wait a little, then force
      if (std::chrono::steady_clock::now() > deadline) {
        for (const auto& [p, rank] : running) ::kill(p, SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const int rank = it->second;
    running.erase(it);
    if (failed(status) && failure.empty()) {
      failure = "worker rank " + std::to_string(rank) + " of " + std::to_string(nproc) + " " + describe(status) +
                "; the other workers were stopped (its messages are above)";
      stop_others();
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    }
  }
  if (!failure.empty()) throw RuntimeError(failure);
  return 0;
}

}  // namespace seer::cli
