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

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kBlack(0, 0, 0), kGrid(228, 228, 228), kAxis(110, 110, 110);
// RGB (the canvas is RGB until written)
const cv::Scalar kLine(31, 119, 180), kSmooth(255, 127, 14);

// Ticks at multiples of 1, 2 or 5 x 10^k covering [lo, hi] with about `n` steps
// (whole numbers only when `integers`, as for epochs).
std::vector<double> nice_ticks(double lo, double hi, int n, bool integers = false) {
  double raw = (hi - lo) / n;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  if (integers) step = std::max(step, 1.0);
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

void put_text(cv::Mat& img, const std::string& s, cv::Point at, double scale, const cv::Scalar& c = kBlack) {
  cv::putText(img, s, at, kFont, scale, c, 1, cv::LINE_AA);
}

cv::Size text_size(const std::string& s, double scale) {
  int base = 0;
  return cv::getTextSize(s, kFont, scale, 1, &base);
}

// The finite points of a series.
std::vector<std::pair<double, double>> finite_points(const PlotSeries& s) {
  std::vector<std::pair<double, double>> p;
  for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
    if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) p.emplace_back(s.x[i], s.y[i]);
  return p;
}

// Centred moving average over `window` points (shrinking at the ends).
std::vector<double> moving_average(const std::vector<std::pair<double, double>>& p, int window) {
  const int n = static_cast<int>(p.size()), half = window / 2;
  std::vector<double> out(p.size());
  for (int i = 0; i < n; ++i) {
    const int a = std::max(0, i - half), b = std::min(n - 1, i + half);
    double sum = 0;
    for (int k = a; k <= b; ++k) sum += p[k].second;
    out[i] = sum / (b - a + 1);
  }
  return out;
}

// One panel: `s` in the rectangle `box` of `img`, its name as the title.
void draw_panel(cv::Mat& img, const cv::Rect& box, const PlotSeries& s) {
  const int left = 52, right = 10, top = 24, bottom = 22;
  const cv::Rect area(box.x + left, box.y + top, box.width - left - right, box.height - top - bottom);
  const auto pts = finite_points(s);
  {
    std::string name = s.name;
    while (name.size() > 4 && text_size(name, 0.45).width > box.width - 8) name = name.substr(0, name.size() - 2) + "~";
    put_text(img, name, {box.x + (box.width - text_size(name, 0.45).width) / 2, box.y + 16}, 0.45);
  }
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& [x, y] : pts) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  if (pts.empty()) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12 * std::max(1.0, std::abs(y0))) {  // a constant: centred, +-10% (+-1 for 0)
    const double d = y0 == 0 ? 1.0 : std::abs(y0) * 0.1;
    y0 -= d, y1 += d;
  } else {
    const double pad = 0.06 * (y1 - y0);
    y0 -= pad, y1 += pad;
  }
  auto px = [&](double x) { return area.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * area.width)); };
  auto py = [&](double y) { return area.y + area.height - static_cast<int>(std::lround((y - y0) / (y1 - y0) * area.height)); };

  for (double t : nice_ticks(y0, y1, 4)) {
    const int y = py(t);
    cv::line(img, {area.x, y}, {area.x + area.width, y}, kGrid, 1);
    const std::string label = tick_label(t);
    const cv::Size sz = text_size(label, 0.35);
    put_text(img, label, {area.x - 5 - sz.width, y + sz.height / 2}, 0.35);
  }
  const bool whole_x = std::all_of(pts.begin(), pts.end(), [](const auto& p) { return p.first == std::round(p.first); });
  for (double t : nice_ticks(x0, x1, 4, whole_x)) {
    const int x = px(t);
    cv::line(img, {x, area.y}, {x, area.y + area.height}, kGrid, 1);
    const std::string label = tick_label(t);
    put_text(img, label, {x - text_size(label, 0.35).width / 2, area.y + area.height + 15}, 0.35);
  }
  cv::rectangle(img, area, kAxis, 1);

  std::vector<cv::Point> line;
  for (const auto& [x, y] : pts) line.emplace_back(px(x), py(y));
  if (line.size() > 1) cv::polylines(img, line, false, kLine, line.size() <= 30 ? 2 : 1, cv::LINE_AA);
  if (line.size() <= 30)
    for (const auto& p : line) cv::circle(img, p, 3, kLine, cv::FILLED, cv::LINE_AA);
  if (pts.size() >= 10) {
    const auto smooth = moving_average(pts, std::max(3, static_cast<int>(pts.size() / 10) | 1));
    std::vector<cv::Point> sl;
    for (size_t i = 0; i < pts.size(); ++i) sl.emplace_back(px(pts[i].first), py(smooth[i]));
    cv::polylines(img, sl, false, kSmooth, 2, cv::LINE_AA);
  }
}

}  // namespace

void draw_panel_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::vector<PlotSeries>& series, int panel_width, int panel_height) {
  const int n = std::max<int>(1, static_cast<int>(series.size()));
  const int rows = (n + 4) / 5, cols = (n + rows - 1) / rows;  // balanced rows of at most 5
  const int head = 34, foot = 28;
  const int width = std::max(cols * panel_width, 360), height = head + rows * panel_height + foot;
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  put_text(img, title, {10, 23}, 0.6);
  bool smoothed = false;
  for (size_t k = 0; k < series.size(); ++k) {
    const int r = static_cast<int>(k) / cols, c = static_cast<int>(k) % cols;
    draw_panel(img, {c * panel_width, head + r * panel_height, panel_width, panel_height}, series[k]);
    smoothed = smoothed || finite_points(series[k]).size() >= 10;
  }
  // the key of the two lines, top right
  const int key_width = 25 + text_size("value", 0.4).width + 20 + 25 + text_size("moving average", 0.4).width + 10;
  if (smoothed && width - key_width > text_size(title, 0.6).width + 30) {
    int x = width - key_width;
    cv::line(img, {x, 18}, {x + 20, 18}, kLine, 2, cv::LINE_AA);
    put_text(img, "value", {x + 25, 22}, 0.4);
    x += 25 + text_size("value", 0.4).width + 20;
    cv::line(img, {x, 18}, {x + 20, 18}, kSmooth, 2, cv::LINE_AA);
    put_text(img, "moving average", {x + 25, 22}, 0.4);
  }
  put_text(img, x_label, {(width - text_size(x_label, 0.5).width) / 2, height - 9}, 0.5);
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
  std::vector<std::string> loss_order, log_order, metric_order;
  PlotSeries lr{"lr", {}, {}};
  static const std::vector<std::string> kNotPlotted = {"iter", "epoch", "lr", "time", "data_time", "elapsed_s"};
  auto plotted = [](const std::string& k) { return std::find(kNotPlotted.begin(), kNotPlotted.end(), k) == kNotPlotted.end(); };
  for (const auto& j : read_metrics_jsonl(metrics_jsonl)) {
    if (!j.contains("iter")) continue;
    const double iter = j["iter"].get<double>();
    if (j.contains("loss")) {  // a training line
      for (const auto& [k, v] : j.items()) {
        if (!v.is_number() || !plotted(k)) continue;
        if (!losses.count(k)) (k.rfind("log/", 0) == 0 ? log_order : loss_order).push_back(k), losses[k].name = k;
        losses[k].x.push_back(iter);
        losses[k].y.push_back(v.get<double>());
      }
      if (j.contains("lr") && j["lr"].is_number()) lr.x.push_back(iter), lr.y.push_back(j["lr"].get<double>());
    } else if (j.contains("epoch")) {  // an evaluation line
      const double epoch = j["epoch"].get<double>();
      for (const auto& [k, v] : j.items()) {
        if (!v.is_number() || !plotted(k) || k.find("/AP-") != std::string::npos) continue;
        if (!metrics.count(k)) metric_order.push_back(k), metrics[k].name = k;
        metrics[k].x.push_back(epoch);
        metrics[k].y.push_back(v.get<double>());
      }
    }
  }
  // the total first, the weighted terms, then the log-only quantities
  loss_order.insert(loss_order.end(), log_order.begin(), log_order.end());
  // COCO's -1 = "no such objects in the evaluation set": nothing to plot
  metric_order.erase(std::remove_if(metric_order.begin(), metric_order.end(),
                                    [&](const std::string& k) {
                                      const auto& y = metrics.at(k).y;
                                      return std::all_of(y.begin(), y.end(), [](double v) { return v == -1.0; });
                                    }),
                     metric_order.end());
  auto ordered = [](const std::vector<std::string>& order, const std::map<std::string, PlotSeries>& m) {
    std::vector<PlotSeries> out;
    for (const auto& k : order) out.push_back(m.at(k));
    return out;
  };
  if (!loss_order.empty()) draw_panel_plot(plots_dir + "/loss.png", "training losses", "iteration", ordered(loss_order, losses));
  if (!lr.x.empty()) draw_panel_plot(plots_dir + "/lr.png", "learning rate (base group)", "iteration", {lr}, 640, 360);
  if (!metric_order.empty())
    draw_panel_plot(plots_dir + "/metrics.png", "evaluation", "epoch", ordered(metric_order, metrics));
}

}  // namespace seer
