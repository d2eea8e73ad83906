#include "data/record_errors.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/logging.h"

namespace seer {

std::string record_message(const std::string& file, const std::string& record, const std::string& problem) {
  return file + ": " + record + ": " + problem;
}

void RecordErrors::report(const std::string& record, const std::string& problem) {
  std::string msg = record_message(file_, record, problem);
  if (on_error_ == OnError::Fail) throw DataError(msg);
  log().warn("skipping {}", msg);
  ++skipped_;
}

void RecordErrors::report_line(int64_t line, const std::string& problem) {
  std::string msg = file_ + ":" + std::to_string(line) + ": " + problem;
  if (on_error_ == OnError::Fail) throw DataError(msg);
  log().warn("skipping {}", msg);
  ++skipped_;
}

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw DataError(what + " '" + path + "': file not found");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(what + " '" + path + "': cannot be opened");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw DataError(path + ": malformed json: " + e.what());
  }
}

}  // namespace seer
