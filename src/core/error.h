#pragma once
// Errors that reach the user. Every failure seer reports is one of these: a
// one-line message saying what went wrong and where, and the exit code the CLI
// returns (DESIGN.md §9: 2 = bad usage or config, 1 = runtime failure).
#include <stdexcept>
#include <string>

namespace seer {

class Error : public std::runtime_error {
 public:
  Error(const std::string& msg, int exit_code) : std::runtime_error(msg), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Bad command line: unknown flag, missing argument. Exit 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& msg) : Error(msg, 2) {}
};

// Bad config: unknown key, wrong type, missing _base_ file. Exit 2.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& msg) : Error(msg, 2) {}
};

// Bad data on disk: unreadable image, malformed annotation record. Exit 1.
class DataError : public Error {
 public:
  explicit DataError(const std::string& msg) : Error(msg, 1) {}
};

// Anything else that fails while running (checkpoint mismatch, I/O). Exit 1.
class RuntimeError : public Error {
 public:
  explicit RuntimeError(const std::string& msg) : Error(msg, 1) {}
};

}  // namespace seer
