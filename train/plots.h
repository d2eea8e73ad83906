#pragma once
// PNG plots of a run (plots/*.png), drawn with OpenCV so no Python or plotting
// library is needed. Like ultralytics' results.png, every quantity gets a small
// panel of its own (own y axis, its name as the title), so terms of different
// scales (a loss near 1, log/class_error in 0-100) never share an axis and no
// colour has to tell curves apart:
//   loss.png     the total loss, then each weighted term, then each log/* quantity, vs iteration
//   lr.png       base-group learning rate vs iteration
//   metrics.png  each evaluation metric vs epoch (the summary ones, not per class,
//                and not those at COCO's -1, "no such objects", throughout)
#include <string>
#include <vector>

namespace seer {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // non-finite points are skipped
};

// A figure of one panel per series, in a grid of about 5 columns, with `title` and
// `x_label` above and below it. A panel shows the series as a line (with dots when
// it has few points) and, from 10 points on, a moving average over about a tenth of
// them. Writes a PNG; RuntimeError when it cannot.
void draw_panel_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::vector<PlotSeries>& series, int panel_width = 320, int panel_height = 230);

// Reads metrics.jsonl and (re)writes the plots above into `plots_dir`; a plot
// with nothing to show yet is not written.
void write_training_plots(const std::string& metrics_jsonl, const std::string& plots_dir);

}  // namespace seer
