// seer coco-eval: pycocotools' loadRes + COCOeval (evaluate, accumulate, summarize)
// as a standalone tool. Prints the 12-line summary; --out writes the numbers.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "eval/coco_eval.h"

namespace seer::cli {

int run_coco_eval(const Args& args) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const eval::IouType type = eval::parse_iou_type(args.get("--iou-type", "bbox"));
  const std::string gt_path = args.get("--gt"), dt_path = args.get("--dt");

  const eval::CocoDataset gt = eval::load_coco_gt(gt_path, type == eval::IouType::Segm);
  const std::vector<eval::CocoAnn> dt = eval::load_coco_results(dt_path, gt, type);
  const auto t1 = Clock::now();
  eval::CocoEvalParams params;
  params.iou_type = type;
  const eval::CocoEvalResult r = eval::coco_evaluate(gt, dt, params);
  const auto t2 = Clock::now();

  auto secs = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf("Loaded %zu images, %zu ground-truth annotations, %zu detections (t=%.2fs)\n", gt.images.size(),
              gt.annotations.size(), dt.size(), secs(t0, t1));
  std::printf("Evaluate annotation type *%s* (t=%.2fs)\n", eval::to_string(type), secs(t1, t2));
  std::fputs(r.summary().c_str(), stdout);
  std::fflush(stdout);

  if (args.has("--out")) {
    const std::string out = args.get("--out");
    nlohmann::ordered_json j;
    j["iou_type"] = eval::to_string(type);
    j["stat_names"] = {"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
    j["stats"] = r.stats;
    // AP@[.5:.95] per category, area all, maxDets 100; null when it has no ground truth.
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (int k = 0; k < r.K; ++k) {
      std::string name = r.cat_names[k].empty() ? std::to_string(r.cat_ids[k]) : r.cat_names[k];
      if (per.contains(name)) name += " (id " + std::to_string(r.cat_ids[k]) + ")";
      const double ap = r.category_ap(k);
      per[name] = ap < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(ap);
    }
    j["per_category"] = per;
    std::ofstream f(out);
    if (!f) throw RuntimeError("cannot write '" + out + "'");
    f.precision(17);
    f << j.dump(1) << "\n";
    if (!f) throw RuntimeError("cannot write '" + out + "'");
  }
  return 0;
}

}  // namespace seer::cli
