#pragma once
// PNG line plots of a run (plots/*.png), drawn with OpenCV so no Python or
// plotting library is needed: axes with tick labels, a title, a legend.
//   loss.png     total loss and each loss term vs iteration
//   lr.png       base-group learning rate vs iteration
//   metrics.png  evaluation metrics vs epoch (the summary ones, not per class)
#include <string>
#include <vector>

namespace seer {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // non-finite points are skipped
};

// Draws the series into one chart and writes it (RuntimeError when it cannot).
void draw_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                    const std::vector<PlotSeries>& series, int width = 900, int height = 540);

// Reads metrics.jsonl and (re)writes the plots above into `plots_dir`; a plot
// with nothing to show yet is not written.
void write_training_plots(const std::string& metrics_jsonl, const std::string& plots_dir);

}  // namespace seer
