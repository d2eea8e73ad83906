#include "train/metrics_log.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace seer {

namespace {

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

std::string format_value(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.8g", v);
  return buf;
}

}  // namespace

std::vector<nlohmann::ordered_json> read_metrics_jsonl(const std::string& path) {
  std::vector<nlohmann::ordered_json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

MetricsLog::MetricsLog(std::string jsonl_path, std::string csv_path)
    : jsonl_(std::move(jsonl_path)), csv_(std::move(csv_path)) {
  // Pick up the rows of an earlier run in this folder (resume).
  std::ifstream in(csv_);
  std::string line;
  if (!std::getline(in, line)) return;
  auto header = split_csv(line);
  if (header.empty() || header[0] != "epoch") return;
  columns_.assign(header.begin() + 1, header.end());
  while (std::getline(in, line)) {
    auto cells = split_csv(line);
    if (cells.empty() || cells[0].empty()) continue;
    std::vector<std::pair<std::string, double>> values;
    for (size_t i = 1; i < cells.size() && i <= columns_.size(); ++i)
      if (!cells[i].empty()) values.emplace_back(columns_[i - 1], std::strtod(cells[i].c_str(), nullptr));
    rows_.emplace_back(std::stoll(cells[0]), std::move(values));
  }
}

void MetricsLog::reset() {
  if (!enabled_) return;
  columns_.clear();
  rows_.clear();
  std::error_code ec;
  std::filesystem::remove(jsonl_, ec);
  std::filesystem::remove(csv_, ec);
}

void MetricsLog::truncate_after(int64_t iter, int64_t epochs_done) {
  if (!enabled_) return;
  auto lines = read_metrics_jsonl(jsonl_);
  std::ofstream out(jsonl_, std::ios::trunc);
  for (const auto& j : lines) {
    if (j.contains("iter") && j["iter"].is_number() && j["iter"].get<int64_t>() > iter) continue;
    out << j.dump() << "\n";
  }
  rows_.erase(std::remove_if(rows_.begin(), rows_.end(), [&](const auto& r) { return r.first > epochs_done; }),
              rows_.end());
  write_csv();
}

void MetricsLog::append(const nlohmann::ordered_json& line) {
  if (!enabled_) return;
  std::ofstream out(jsonl_, std::ios::app);
  out << line.dump() << "\n";
  if (!out) throw RuntimeError("cannot append to '" + jsonl_ + "'");
}

void MetricsLog::add_result(int64_t epoch, const std::vector<std::pair<std::string, double>>& values) {
  if (!enabled_) return;
  for (const auto& kv : values)
    if (std::find(columns_.begin(), columns_.end(), kv.first) == columns_.end()) columns_.push_back(kv.first);
  auto it = std::find_if(rows_.begin(), rows_.end(), [&](const auto& r) { return r.first == epoch; });
  if (it != rows_.end())
    it->second = values;
  else
    rows_.emplace_back(epoch, values);
  write_csv();
}

void MetricsLog::write_csv() const {
  std::string tmp = csv_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "epoch";
    for (const auto& c : columns_) out << "," << c;
    out << "\n";
    for (const auto& [epoch, values] : rows_) {
      out << epoch;
      for (const auto& c : columns_) {
        out << ",";
        for (const auto& kv : values)
          if (kv.first == c) {
            out << format_value(kv.second);
            break;
          }
      }
      out << "\n";
    }
    if (!out) throw RuntimeError("cannot write '" + tmp + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, csv_, ec);
  if (ec) throw RuntimeError("cannot write '" + csv_ + "': " + ec.message());
}

}  // namespace seer
