#pragma once
// Shared by the annotation readers: how a broken record is reported, and
// reading a whole json file with an error that names it.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace seer {

// Applies data.on_error to records found broken while reading an annotation
// file: under `fail` a DataError "<file>: <record>: <problem>", under `skip` a
// warning with the same text and one more skipped record.
class RecordErrors {
 public:
  RecordErrors(std::string file, OnError on_error) : file_(std::move(file)), on_error_(on_error) {}
  // `record` says which record, e.g. "annotation #17 (id 12345)" or "line 3".
  void report(const std::string& record, const std::string& problem);
  // Line-oriented files (jsonl, txt): "<file>:<line>: <problem>".
  void report_line(int64_t line, const std::string& problem);
  int64_t skipped() const { return skipped_; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  OnError on_error_;
  int64_t skipped_ = 0;
};

// Parse a json file. A missing file or malformed json is always a DataError
// naming the file (and the parser's position), whatever on_error says: without
// the file there is no dataset to skip records of.
nlohmann::json read_json_file(const std::string& path, const std::string& what = "annotation file");

// "<file>: <record>: <problem>" (the one-line form every reader uses).
std::string record_message(const std::string& file, const std::string& record, const std::string& problem);

}  // namespace seer
