#include "train/plots.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "train/metrics_log.h"

namespace seer {

namespace {

// Ticks at multiples of 1, 2 or 5 x 10^k covering [lo, hi] with about `n` steps.
std::vector<double> nice_ticks(double lo, double hi, int n = 5) {
  double span = hi - lo;
  double raw = span / n;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::string tick_label(double v) {
  char buf[32];
  double a = std::abs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e5))
    std::snprintf(buf, sizeof(buf), "%.1e", v);
  else
    std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

const cv::Scalar kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                               {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

}  // namespace

void draw_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                    const std::vector<PlotSeries>& series, int width, int height) {
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 80, right = 200, top = 40, bottom = 60;
  const cv::Rect area(left, top, width - left - right, height - top - bottom);
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12 * std::max(1.0, std::abs(y0))) {
    double d = std::max(std::abs(y0) * 0.1, 1e-6);
    y0 -= d, y1 += d;
  } else {
    double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
  }
  auto px = [&](double x) { return area.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * area.width)); };
  auto py = [&](double y) { return area.y + area.height - static_cast<int>(std::lround((y - y0) / (y1 - y0) * area.height)); };

  const int font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar black(0, 0, 0), grid(225, 225, 225);
  for (double t : nice_ticks(y0, y1)) {
    int y = py(t);
    cv::line(img, {area.x, y}, {area.x + area.width, y}, grid, 1);
    cv::line(img, {area.x - 5, y}, {area.x, y}, black, 1);
    std::string s = tick_label(t);
    int base = 0;
    cv::Size sz = cv::getTextSize(s, font, 0.4, 1, &base);
    cv::putText(img, s, {area.x - 8 - sz.width, y + sz.height / 2}, font, 0.4, black, 1, cv::LINE_AA);
  }
  for (double t : nice_ticks(x0, x1)) {
    int x = px(t);
    cv::line(img, {x, area.y}, {x, area.y + area.height}, grid, 1);
    cv::line(img, {x, area.y + area.height}, {x, area.y + area.height + 5}, black, 1);
    std::string s = tick_label(t);
    int base = 0;
    cv::Size sz = cv::getTextSize(s, font, 0.4, 1, &base);
    cv::putText(img, s, {x - sz.width / 2, area.y + area.height + 20}, font, 0.4, black, 1, cv::LINE_AA);
  }
  cv::rectangle(img, area, black, 1);
  {
    int base = 0;
    cv::Size sz = cv::getTextSize(title, font, 0.6, 1, &base);
    cv::putText(img, title, {area.x + (area.width - sz.width) / 2, top - 14}, font, 0.6, black, 1, cv::LINE_AA);
    sz = cv::getTextSize(x_label, font, 0.5, 1, &base);
    cv::putText(img, x_label, {area.x + (area.width - sz.width) / 2, height - 15}, font, 0.5, black, 1, cv::LINE_AA);
  }
  // series, then the legend to the right of the chart
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const cv::Scalar color = kPalette[k % 10];  // RGB (the canvas is RGB until written)
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) pts.emplace_back(px(s.x[i]), py(s.y[i]));
    if (pts.size() == 1) cv::circle(img, pts[0], 3, color, cv::FILLED, cv::LINE_AA);
    if (pts.size() > 1) cv::polylines(img, pts, false, color, 2, cv::LINE_AA);
    if (pts.size() <= 30)
      for (const auto& p : pts) cv::circle(img, p, 3, color, cv::FILLED, cv::LINE_AA);
    int ly = top + 10 + static_cast<int>(k) * 20;
    if (ly > height - bottom) continue;
    cv::line(img, {width - right + 15, ly}, {width - right + 40, ly}, color, 2, cv::LINE_AA);
    std::string name = s.name.size() > 22 ? s.name.substr(0, 21) + "~" : s.name;
    cv::putText(img, name, {width - right + 46, ly + 5}, font, 0.42, black, 1, cv::LINE_AA);
  }
  cv::Mat bgr;
  cv::cvtColor(img, bgr, cv::COLOR_RGB2BGR);
  bool ok = false;
  try {
    ok = cv::imwrite(path, bgr);
  } catch (const cv::Exception&) {
  }
  if (!ok) throw RuntimeError("cannot write plot '" + path + "'");
}

void write_training_plots(const std::string& metrics_jsonl, const std::string& plots_dir) {
  std::map<std::string, PlotSeries> losses, metrics;
  std::vector<std::string> loss_order, metric_order;
  PlotSeries lr{"lr", {}, {}};
  static const std::vector<std::string> kNotLoss = {"iter", "epoch", "lr", "time", "data_time"};
  for (const auto& j : read_metrics_jsonl(metrics_jsonl)) {
    if (!j.contains("iter")) continue;
    const double iter = j["iter"].get<double>();
    if (j.contains("loss")) {  // a training line
      for (const auto& [k, v] : j.items()) {
        if (!v.is_number() || std::find(kNotLoss.begin(), kNotLoss.end(), k) != kNotLoss.end()) continue;
        if (!losses.count(k)) loss_order.push_back(k), losses[k].name = k;
        losses[k].x.push_back(iter);
        losses[k].y.push_back(v.get<double>());
      }
      if (j.contains("lr") && j["lr"].is_number()) lr.x.push_back(iter), lr.y.push_back(j["lr"].get<double>());
    } else if (j.contains("epoch")) {  // an evaluation line
      const double epoch = j["epoch"].get<double>();
      for (const auto& [k, v] : j.items()) {
        if (!v.is_number() || k == "iter" || k == "epoch" || k.find("/AP-") != std::string::npos) continue;
        if (!metrics.count(k)) metric_order.push_back(k), metrics[k].name = k;
        metrics[k].x.push_back(epoch);
        metrics[k].y.push_back(v.get<double>());
      }
    }
  }
  auto ordered = [](const std::vector<std::string>& order, const std::map<std::string, PlotSeries>& m) {
    std::vector<PlotSeries> out;
    for (const auto& k : order) out.push_back(m.at(k));
    return out;
  };
  if (!loss_order.empty()) draw_line_plot(plots_dir + "/loss.png", "training loss", "iteration", ordered(loss_order, losses));
  if (!lr.x.empty()) draw_line_plot(plots_dir + "/lr.png", "learning rate (base group)", "iteration", {lr});
  if (!metric_order.empty())
    draw_line_plot(plots_dir + "/metrics.png", "evaluation", "epoch", ordered(metric_order, metrics));
}

}  // namespace seer
