// Benchmark (not a test): the phases of seer's COCO evaluation in one process,
// each repeated, so that a change to eval/coco_json.* or eval/coco_eval.* can be
// timed without process start-up and with less noise than coco_eval_bench.py's
// end-to-end runs. Takes the sets that coco_eval_bench.py writes.
//   bench_coco_eval GT.json RESULTS.json [bbox|segm] [repeats] [threads] [evaluate_repeats]
// The loads run `repeats` times, then coco_evaluate `evaluate_repeats` times
// (default: repeats) on the last load. Threads 0 means every core.
// Prints per phase the median wall and process cpu milliseconds (cpu is the
// steadier figure on a shared machine), then the stats, so that two builds can
// be checked to agree.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "bench_common.h"
#include "eval/coco_eval.h"

namespace {

struct Times {
  std::vector<double> wall, cpu;
};

template <class F>
void timed(Times& t, F&& f) {
  const auto w0 = seer::bench::Clock::now();
  const std::clock_t c0 = std::clock();
  f();
  t.cpu.push_back(1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
  t.wall.push_back(seer::bench::ms_since(w0));
}

void print(const char* name, const Times& t) {
  std::printf("%-18s wall %9.1f ms  cpu %9.1f ms  (median of %zu)\n", name, seer::bench::median(t.wall),
              seer::bench::median(t.cpu), t.wall.size());
}

int run(int argc, char** argv) {
  using namespace seer::eval;
  const char* usage =
      "usage: bench_coco_eval GT.json RESULTS.json [bbox|segm] [repeats] [threads] [evaluate_repeats]\n";
  if (argc < 3) {
    std::fputs(usage, stderr);
    return 2;
  }
  const IouType type = parse_iou_type(argc > 3 ? argv[3] : "bbox");
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  const int threads = argc > 5 ? std::atoi(argv[5]) : 0;
  const int eval_repeats = argc > 6 ? std::atoi(argv[6]) : repeats;
  if (repeats < 1 || eval_repeats < 1) {
    std::fputs(usage, stderr);
    return 2;
  }

  Times t_gt, t_dt, t_eval;
  CocoDataset gt;
  std::vector<CocoAnn> dt;
  CocoEvalResult res;
  CocoEvalParams params;
  params.iou_type = type;
  params.num_threads = threads;
  for (int i = 0; i < repeats; ++i) {
    timed(t_gt, [&] { gt = load_coco_gt(argv[1], type == IouType::Segm); });
    timed(t_dt, [&] { dt = load_coco_results(argv[2], gt, type); });
  }
  for (int i = 0; i < eval_repeats; ++i) timed(t_eval, [&] { res = coco_evaluate(gt, dt, params); });
  std::printf("%zu images, %zu ground truths, %zu detections, %s, threads %d\n", gt.images.size(),
              gt.annotations.size(), dt.size(), to_string(type), threads);
  print("load_coco_gt", t_gt);
  print("load_coco_results", t_dt);
  print("coco_evaluate", t_eval);
  std::printf("stats");
  for (double s : res.stats) std::printf(" %.17g", s);
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return seer::bench::guarded_main(run, argc, argv); }
