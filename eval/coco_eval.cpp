// COCOeval in C++, one function per step of pycocotools' COCOeval:
//
//   prepare       _prepare and the id lists of evaluate(): ground truth and
//                 detections grouped by (category, image)
//   compute_iou   computeIoU: one pair's detections best first, cut at
//                 maxDets[-1], against each of its ground truths
//   evaluate_img  evaluateImg: greedy matching of one pair at every IoU
//                 threshold, for one area range
//   evaluate      evaluate: every pair, in chunks spread over threads
//   accumulate    accumulate: precision and recall per category, area range
//                 and maxDets
//   summarize     summarize: the 12 stats
//
// The data is laid out flat rather than as pycocotools' dicts of lists: pairs
// are ranges into one grouped list, and evaluateImg's result is a state byte per
// (detection, area range, threshold). Pairs are independent until accumulate,
// and accumulate is independent per category, so both run on threads.
#include "eval/coco_eval.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "eval/parallel_for.h"

namespace seer::eval {

CocoEvalParams::CocoEvalParams() {
  // np.linspace(start, stop, n): i * ((stop - start) / (n - 1)) + start, last = stop.
  const double istep = (0.95 - 0.5) / 9;
  for (int i = 0; i < 9; ++i) iou_thrs.push_back(i * istep + 0.5);
  iou_thrs.push_back(0.95);
  const double rstep = (1.0 - 0.0) / 100;
  for (int i = 0; i < 100; ++i) rec_thrs.push_back(i * rstep + 0.0);
  rec_thrs.push_back(1.0);
}

namespace {

// ------------------------------------------------------------------ prepare

// One (category slot, image) pair with ground truth or detections: a non-None
// entry of pycocotools' evalImgs, for every area range at once.
struct PairRange {
  int64_t image;            // position in the sorted image id list
  size_t gt_begin, gt_end;  // into Grouped::gts
  size_t dt_begin, dt_end;  // into Grouped::dts
};

// What prepare hands to the other steps.
struct Grouped {
  std::vector<int64_t> img_ids, cat_ids;  // sorted unique (np.unique), as evaluate() makes them
  int K = 0;                              // category slots: one per id, or 1 with use_cats = 0
  // Grouped by (category slot, image, category), file order inside a group:
  // exactly the order of pycocotools' _gts/_dts lists, and with useCats=0 the
  // per-image concatenation over sorted category ids.
  std::vector<const CocoAnn*> gts, dts;
  std::vector<std::vector<PairRange>> pairs;  // [K]: pairs by image position
};

std::vector<int64_t> sorted_unique(std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Grouped prepare(const CocoDataset& gt, const std::vector<CocoAnn>& dt, const CocoEvalParams& p) {
  Grouped g;
  std::vector<int64_t> img_ids = p.img_ids, cat_ids = p.cat_ids;
  if (img_ids.empty())
    for (const auto& im : gt.images) img_ids.push_back(im.id);
  if (cat_ids.empty())
    for (const auto& c : gt.categories) cat_ids.push_back(c.id);
  g.img_ids = sorted_unique(std::move(img_ids));
  g.cat_ids = sorted_unique(std::move(cat_ids));
  g.K = p.use_cats ? static_cast<int>(g.cat_ids.size()) : 1;
  std::unordered_map<int64_t, int64_t> img_pos, cat_pos;
  for (size_t i = 0; i < g.img_ids.size(); ++i) img_pos[g.img_ids[i]] = static_cast<int64_t>(i);
  for (size_t i = 0; i < g.cat_ids.size(); ++i) cat_pos[g.cat_ids[i]] = static_cast<int64_t>(i);

  // Annotations outside the evaluated images or categories drop out here.
  struct Keyed {
    int64_t slot, image, cat;
    size_t order;
    const CocoAnn* ann;
  };
  auto group = [&](const std::vector<CocoAnn>& anns) {
    std::vector<Keyed> keyed;
    keyed.reserve(anns.size());
    for (size_t i = 0; i < anns.size(); ++i) {
      auto ip = img_pos.find(anns[i].image_id);
      auto cp = cat_pos.find(anns[i].category_id);
      if (ip == img_pos.end() || cp == cat_pos.end()) continue;
      keyed.push_back({p.use_cats ? cp->second : 0, ip->second, p.use_cats ? 0 : cp->second, i, &anns[i]});
    }
    std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
      if (a.slot != b.slot) return a.slot < b.slot;
      if (a.image != b.image) return a.image < b.image;
      if (a.cat != b.cat) return a.cat < b.cat;
      return a.order < b.order;
    });
    return keyed;
  };
  const std::vector<Keyed> gk = group(gt.annotations), dk = group(dt);
  g.gts.resize(gk.size());
  g.dts.resize(dk.size());
  for (size_t i = 0; i < gk.size(); ++i) g.gts[i] = gk[i].ann;
  for (size_t i = 0; i < dk.size(); ++i) g.dts[i] = dk[i].ann;

  // Walk both groupings together: one PairRange per (slot, image) with anything in it.
  g.pairs.resize(g.K);
  size_t gi = 0, di = 0;
  auto key = [](const Keyed& k) { return std::make_pair(k.slot, k.image); };
  while (gi < gk.size() || di < dk.size()) {
    const std::pair<int64_t, int64_t> kg = gi < gk.size() ? key(gk[gi]) : std::make_pair(INT64_MAX, INT64_MAX);
    const std::pair<int64_t, int64_t> kd = di < dk.size() ? key(dk[di]) : std::make_pair(INT64_MAX, INT64_MAX);
    const auto k = std::min(kg, kd);
    PairRange pr{k.second, gi, gi, di, di};
    while (pr.gt_end < gk.size() && key(gk[pr.gt_end]) == k) ++pr.gt_end;
    while (pr.dt_end < dk.size() && key(dk[pr.dt_end]) == k) ++pr.dt_end;
    gi = pr.gt_end;
    di = pr.dt_end;
    g.pairs[k.first].push_back(pr);
  }
  return g;
}

// ------------------------------------------------------------------ evaluate

// evaluateImg's results for the pairs of one chunk, as accumulate reads them.
// Per pair e: scores[off[e] .. off[e+1]) are its detections, best first, cut at
// maxDets[-1]; state[(off[e]*A + a*D_e + d) * T + t] says whether detection d is,
// at area range a and threshold t, ignored (0), a true positive (1) or a false
// positive (2).
struct ChunkResult {
  std::vector<size_t> off{0};
  std::vector<double> scores;
  std::vector<uint8_t> state;
  std::vector<int64_t> npig;  // [pair][A] ground truths that are not ignored
};

// Every evaluated pair: chunks of up to kChunkPairs pairs of one category slot.
struct EvalImgs {
  std::vector<ChunkResult> chunks;
  std::vector<std::vector<size_t>> chunks_of;  // [K]: that slot's chunks, in pair order
};

constexpr size_t kChunkPairs = 64;

// Buffers of one thread, reused from pair to pair.
struct Scratch {
  std::vector<double> ious;       // [D][G], detections in dorder, ground truths in pair order
  std::vector<size_t> dorder;     // indices into Grouped::dts, best first
  std::vector<size_t> gorder;     // the pair's ground truths, not ignored first
  std::vector<int64_t> gtm_used;  // per gorder entry: the id of the detection it matched
};

double iou(IouType type, const CocoAnn& d, const CocoAnn& g) {
  if (type == IouType::Bbox) return rle::box_iou_one(d.bbox, g.bbox, g.iscrowd);
  return rle::iou_one(d.mask, g.mask, g.iscrowd, d.mask_box, g.mask_box);
}

// computeIoU: sorts the pair's detections best first (stable, as numpy's
// mergesort) into s.dorder, keeps the first `max_det` and fills s.ious against
// every ground truth of the pair. Returns the number of detections kept.
size_t compute_iou(const Grouped& g, const PairRange& pr, IouType type, int max_det, Scratch& s) {
  const size_t nd_all = pr.dt_end - pr.dt_begin, G = pr.gt_end - pr.gt_begin;
  s.dorder.resize(nd_all);
  std::iota(s.dorder.begin(), s.dorder.end(), pr.dt_begin);
  std::stable_sort(s.dorder.begin(), s.dorder.end(),
                   [&](size_t a, size_t b) { return g.dts[a]->score > g.dts[b]->score; });
  const size_t D = std::min<size_t>(nd_all, static_cast<size_t>(max_det));
  s.ious.resize(D * G);
  for (size_t d = 0; d < D; ++d)
    for (size_t gt = 0; gt < G; ++gt) s.ious[d * G + gt] = iou(type, *g.dts[s.dorder[d]], *g.gts[pr.gt_begin + gt]);
  return D;
}

// evaluateImg at area range `a` for a pair whose IoUs compute_iou left in s:
// writes the state of its D detections at every threshold to st[d * T + t] and
// returns how many of its ground truths are not ignored.
int64_t evaluate_img(const Grouped& g, const PairRange& pr, const CocoEvalParams& p, int a, size_t D, Scratch& s,
                     uint8_t* st) {
  const size_t G = pr.gt_end - pr.gt_begin;
  const int T = static_cast<int>(p.iou_thrs.size());
  const double lo = p.area_rng[a][0], hi = p.area_rng[a][1];
  // Ground truths not ignored first (stable), as evaluateImg sorts them.
  s.gorder.clear();
  int64_t npig = 0;
  for (size_t gt = 0; gt < G; ++gt) {
    const CocoAnn& ann = *g.gts[pr.gt_begin + gt];
    if (!(ann.iscrowd || ann.area < lo || ann.area > hi)) {
      s.gorder.push_back(gt);
      ++npig;
    }
  }
  for (size_t gt = 0; gt < G; ++gt) {
    const CocoAnn& ann = *g.gts[pr.gt_begin + gt];
    if (ann.iscrowd || ann.area < lo || ann.area > hi) s.gorder.push_back(gt);
  }
  for (int t = 0; t < T; ++t) {
    s.gtm_used.assign(G, 0);
    for (size_t d = 0; d < D; ++d) {
      const CocoAnn& dt = *g.dts[s.dorder[d]];
      double best = std::min(p.iou_thrs[t], 1 - 1e-10);
      int64_t m = -1;
      for (size_t gi = 0; gi < G; ++gi) {
        const size_t gt = s.gorder[gi];
        const CocoAnn& ann = *g.gts[pr.gt_begin + gt];
        if (s.gtm_used[gi] > 0 && !ann.iscrowd) continue;  // taken, and not a crowd
        // Matched a regular gt already and reached the ignored ones: stop.
        if (m > -1 && static_cast<int64_t>(gi) >= npig && m < npig) break;
        const double v = s.ious[d * G + gt];
        if (v < best) continue;
        best = v;
        m = static_cast<int64_t>(gi);
      }
      bool ignored = false, matched = false;
      if (m != -1) {
        const CocoAnn& ann = *g.gts[pr.gt_begin + s.gorder[m]];
        ignored = m >= npig;
        // pycocotools stores the gt id as the match and tests it for != 0,
        // so a match to a gt with id 0 counts as no match.
        matched = ann.id != 0;
        s.gtm_used[m] = dt.id;
      }
      if (!matched && (dt.area < lo || dt.area > hi)) ignored = true;
      st[d * T + t] = ignored ? 0 : (matched ? 1 : 2);
    }
  }
  return npig;
}

// One pair at every area range, appended to its chunk's results.
void evaluate_pair(const Grouped& g, const PairRange& pr, const CocoEvalParams& p, int max_det, Scratch& s,
                   ChunkResult& out) {
  const size_t T = p.iou_thrs.size(), A = p.area_rng.size();
  const size_t D = compute_iou(g, pr, p.iou_type, max_det, s);
  const size_t off = out.off.back();
  for (size_t d = 0; d < D; ++d) out.scores.push_back(g.dts[s.dorder[d]]->score);
  out.off.push_back(off + D);
  out.state.resize((off + D) * A * T);
  for (size_t a = 0; a < A; ++a)
    out.npig.push_back(evaluate_img(g, pr, p, static_cast<int>(a), D, s, out.state.data() + (off * A + a * D) * T));
}

// evaluate: every pair of every category slot, chunk by chunk over threads.
EvalImgs evaluate(const Grouped& g, const CocoEvalParams& p, int max_det, int threads) {
  struct Chunk {
    int k;
    size_t begin, end;
  };
  std::vector<Chunk> chunks;
  for (int k = 0; k < g.K; ++k)
    for (size_t b = 0; b < g.pairs[k].size(); b += kChunkPairs)
      chunks.push_back({k, b, std::min(g.pairs[k].size(), b + kChunkPairs)});
  EvalImgs e;
  e.chunks.resize(chunks.size());
  parallel_for(chunks.size(), threads, [&](size_t c) {
    Scratch s;
    for (size_t i = chunks[c].begin; i < chunks[c].end; ++i)
      evaluate_pair(g, g.pairs[chunks[c].k][i], p, max_det, s, e.chunks[c]);
  });
  e.chunks_of.resize(g.K);
  for (size_t c = 0; c < chunks.size(); ++c) e.chunks_of[chunks[c].k].push_back(c);
  return e;
}

// ------------------------------------------------------------------ accumulate

// accumulate for category slot k and maxDets index m: one sort of the detections
// serves every area range and threshold. Settings without ground truth keep -1.
void accumulate_category(const EvalImgs& e, const CocoEvalParams& p, int k, int m, CocoEvalResult& res) {
  const int T = res.T, R = res.R, K = res.K, A = res.A, M = res.M;
  const size_t max_det = static_cast<size_t>(res.max_dets[m]);
  const double eps = 2.220446049250313e-16;  // np.spacing(1)
  struct Det {
    double score;
    const uint8_t* state;  // state of area range 0; area a is at + a * stride
    size_t stride;
  };
  std::vector<Det> dets;
  std::vector<int64_t> npig(A, 0);
  size_t n_pairs = 0;
  for (size_t c : e.chunks_of[k]) {
    const ChunkResult& r = e.chunks[c];
    for (size_t i = 0; i + 1 < r.off.size(); ++i) {
      ++n_pairs;
      const size_t D = r.off[i + 1] - r.off[i];
      for (int a = 0; a < A; ++a) npig[a] += r.npig[i * A + a];
      const size_t n = std::min(D, max_det);
      for (size_t d = 0; d < n; ++d)
        dets.push_back({r.scores[r.off[i] + d], r.state.data() + (r.off[i] * A + d) * T, D * T});
    }
  }
  if (n_pairs == 0) return;
  std::stable_sort(dets.begin(), dets.end(), [](const Det& x, const Det& y) { return x.score > y.score; });
  const size_t nd = dets.size();
  std::vector<double> rc(nd), pr(nd);
  for (int a = 0; a < A; ++a) {
    if (npig[a] == 0) continue;
    for (int t = 0; t < T; ++t) {
      int64_t tp = 0, fp = 0;
      for (size_t i = 0; i < nd; ++i) {
        const uint8_t s = dets[i].state[a * dets[i].stride + t];
        tp += s == 1;
        fp += s == 2;
        const double tpd = static_cast<double>(tp), fpd = static_cast<double>(fp);
        rc[i] = tpd / static_cast<double>(npig[a]);
        pr[i] = tpd / (fpd + tpd + eps);
      }
      res.recall[((static_cast<size_t>(t) * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0.0;
      // Precision envelope: make it non-increasing from the right.
      for (size_t i = nd; i-- > 1;)
        if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
      // np.searchsorted(rc, recThrs, 'left'); past the end the precision stays 0.
      size_t pi = 0;
      for (int r = 0; r < R; ++r) {
        while (pi < nd && rc[pi] < p.rec_thrs[r]) ++pi;
        res.precision[(((static_cast<size_t>(t) * R + r) * K + k) * A + a) * M + m] = pi < nd ? pr[pi] : 0.0;
      }
    }
  }
}

// accumulate: fills res.precision [T][R][K][A][M] and res.recall [T][K][A][M].
void accumulate(const EvalImgs& e, const CocoEvalParams& p, int threads, CocoEvalResult& res) {
  res.precision.assign(static_cast<size_t>(res.T) * res.R * res.K * res.A * res.M, -1.0);
  res.recall.assign(static_cast<size_t>(res.T) * res.K * res.A * res.M, -1.0);
  const int M = res.M;
  parallel_for(static_cast<size_t>(res.K) * M, threads, [&](size_t km) {
    accumulate_category(e, p, static_cast<int>(km / M), static_cast<int>(km % M), res);
  });
}

// ------------------------------------------------------------------ summarize

// summarize: pycocotools' 12 stats, with the maxDets it picks (the three
// sorted values; the largest stands in for missing ones).
std::array<double, 12> summarize(const CocoEvalResult& res) {
  const int last = res.max_dets.back();
  const int m0 = res.max_dets[0], m1 = res.M > 1 ? res.max_dets[1] : last, m2 = res.M > 2 ? res.max_dets[2] : last;
  return {res.summarize(true, -1, "all", m2),     res.summarize(true, 0.5, "all", m2),
          res.summarize(true, 0.75, "all", m2),   res.summarize(true, -1, "small", m2),
          res.summarize(true, -1, "medium", m2),  res.summarize(true, -1, "large", m2),
          res.summarize(false, -1, "all", m0),    res.summarize(false, -1, "all", m1),
          res.summarize(false, -1, "all", m2),    res.summarize(false, -1, "small", m2),
          res.summarize(false, -1, "medium", m2), res.summarize(false, -1, "large", m2)};
}

}  // namespace

CocoEvalResult coco_evaluate(const CocoDataset& gt, const std::vector<CocoAnn>& dt, const CocoEvalParams& p) {
  CocoEvalResult res;
  res.iou_type = p.iou_type;
  res.iou_thrs = p.iou_thrs;
  res.rec_thrs = p.rec_thrs;
  res.max_dets = p.max_dets;
  std::sort(res.max_dets.begin(), res.max_dets.end());
  res.area_lbl = p.area_lbl;
  if (res.max_dets.empty()) throw RuntimeError("coco_evaluate: max_dets is empty");
  const int threads = resolve_threads(p.num_threads);

  const Grouped g = prepare(gt, dt, p);
  res.T = static_cast<int>(p.iou_thrs.size());
  res.R = static_cast<int>(p.rec_thrs.size());
  res.K = g.K;
  res.A = static_cast<int>(p.area_rng.size());
  res.M = static_cast<int>(res.max_dets.size());
  if (p.use_cats) {
    res.cat_ids = g.cat_ids;
    for (int64_t id : g.cat_ids) {
      const int64_t ci = gt.category_index(id);
      res.cat_names.push_back(ci >= 0 ? gt.categories[ci].name : std::to_string(id));
    }
  } else {
    res.cat_ids = {-1};
    res.cat_names = {"all"};
  }

  const EvalImgs e = evaluate(g, p, res.max_dets.back(), threads);
  accumulate(e, p, threads, res);
  res.stats = summarize(res);
  return res;
}

double CocoEvalResult::summarize(bool ap, double iou_thr, const std::string& area, int max_det) const {
  // Like _summarize: an IoU threshold is found by exact equality, and a missing
  // label or maxDets selects nothing (mean -1).
  std::vector<int> ts, as, ms;
  for (int t = 0; t < T; ++t)
    if (iou_thr < 0 || iou_thrs[t] == iou_thr) ts.push_back(t);
  for (int a = 0; a < A; ++a)
    if (area_lbl[a] == area) as.push_back(a);
  for (int m = 0; m < M; ++m)
    if (max_dets[m] == max_det) ms.push_back(m);
  double sum = 0;
  int64_t n = 0;
  for (int t : ts)
    for (int k = 0; k < K; ++k)
      for (int a : as)
        for (int m : ms) {
          if (ap) {
            for (int r = 0; r < R; ++r) {
              double v = precision_at(t, r, k, a, m);
              if (v > -1) sum += v, ++n;
            }
          } else {
            double v = recall_at(t, k, a, m);
            if (v > -1) sum += v, ++n;
          }
        }
  return n == 0 ? -1.0 : sum / static_cast<double>(n);
}

double CocoEvalResult::category_ap(int k, double iou_thr) const {
  double sum = 0;
  int64_t n = 0;
  for (int t = 0; t < T; ++t) {
    if (iou_thr >= 0 && iou_thrs[t] != iou_thr) continue;
    for (int r = 0; r < R; ++r) {
      double v = precision_at(t, r, k, 0, M - 1);
      if (v > -1) sum += v, ++n;
    }
  }
  return n == 0 ? -1.0 : sum / static_cast<double>(n);
}

std::string CocoEvalResult::summary() const {
  struct Line {
    bool ap;
    double thr;
    const char* area;
    int md;
  };
  const int m0 = max_dets.empty() ? 0 : max_dets[0];
  const int m1 = max_dets.size() > 1 ? max_dets[1] : m0, m2 = max_dets.size() > 2 ? max_dets[2] : m1;
  const Line lines[12] = {{true, -1, "all", m2},     {true, 0.5, "all", m2},     {true, 0.75, "all", m2},
                          {true, -1, "small", m2},   {true, -1, "medium", m2},   {true, -1, "large", m2},
                          {false, -1, "all", m0},    {false, -1, "all", m1},     {false, -1, "all", m2},
                          {false, -1, "small", m2},  {false, -1, "medium", m2},  {false, -1, "large", m2}};
  std::string s;
  char buf[160];
  for (int i = 0; i < 12; ++i) {
    const Line& l = lines[i];
    char iou[32];
    if (l.thr < 0)
      std::snprintf(iou, sizeof iou, "%0.2f:%0.2f", iou_thrs.front(), iou_thrs.back());
    else
      std::snprintf(iou, sizeof iou, "%0.2f", l.thr);
    std::snprintf(buf, sizeof buf, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  l.ap ? "Average Precision" : "Average Recall", l.ap ? "(AP)" : "(AR)", iou, l.area, l.md,
                  stats[i]);
    s += buf;
  }
  return s;
}

}  // namespace seer::eval
