// RLE mask operations. Every routine reproduces the arithmetic of cocoapi's
// maskApi.c (including its unsigned 32-bit counters and rounding by C casts),
// because COCO evaluation numbers depend on the exact pixels and IoUs.
#include "ops/coco_mask.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace seer::rle {

Rle encode(const uint8_t* mask, int64_t h, int64_t w) {
  Rle r;
  r.h = h;
  r.w = w;
  uint8_t prev = 0;  // runs start with background
  uint32_t run = 0;
  for (int64_t x = 0; x < w; ++x)
    for (int64_t y = 0; y < h; ++y) {
      uint8_t v = mask[y * w + x] ? 1 : 0;
      if (v != prev) {
        r.counts.push_back(run);
        run = 0;
        prev = v;
      }
      ++run;
    }
  r.counts.push_back(run);
  return r;
}

std::vector<uint8_t> decode(const Rle& r) {
  std::vector<uint8_t> m(static_cast<size_t>(r.h * r.w), 0);
  // Walk the column-major runs, writing into the row-major image.
  int64_t pos = 0, total = r.h * r.w;
  uint8_t v = 0;
  for (uint32_t c : r.counts) {
    for (uint32_t k = 0; k < c && pos < total; ++k, ++pos)
      if (v) m[(pos % r.h) * r.w + pos / r.h] = 1;
    v = !v;
  }
  return m;
}

uint64_t area(const Rle& r) {
  // cocoapi sums into a uint; masks beyond 4G pixels do not occur.
  uint32_t a = 0;
  for (size_t j = 1; j < r.counts.size(); j += 2) a += r.counts[j];
  return a;
}

Rle merge(const std::vector<Rle>& rles, bool intersect) {
  if (rles.empty()) return Rle{};
  if (rles.size() == 1) return rles[0];
  int64_t h = rles[0].h, w = rles[0].w;
  std::vector<uint32_t> acc = rles[0].counts;
  for (size_t i = 1; i < rles.size(); ++i) {
    const Rle& B = rles[i];
    if (B.h != h || B.w != w) return Rle{};
    const std::vector<uint32_t> A = std::move(acc);
    acc.clear();
    if (A.empty() || B.counts.empty()) return Rle{h, w, {}};
    // Sweep both run lists together; emit a run whenever the combined value flips.
    uint32_t ca = A[0], cb = B.counts[0], cc = 0, ct = 1;
    bool v = false, va = false, vb = false;
    size_t a = 1, b = 1;
    while (ct > 0) {
      uint32_t c = std::min(ca, cb);
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.size()) {
        ca = A[a++];
        va = !va;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.counts.size()) {
        cb = B.counts[b++];
        vb = !vb;
      }
      ct += cb;
      bool vp = v;
      v = intersect ? (va && vb) : (va || vb);
      if (v != vp || ct == 0) {
        acc.push_back(cc);
        cc = 0;
      }
    }
  }
  return Rle{h, w, std::move(acc)};
}

double box_iou_one(const std::array<double, 4>& D, const std::array<double, 4>& G, bool crowd) {
  // Same expression order as bbIou so that the doubles agree bit for bit.
  const double ga = G[2] * G[3], da = D[2] * D[3];
  double iw = std::fmin(D[2] + D[0], G[2] + G[0]) - std::fmax(D[0], G[0]);
  if (iw <= 0) return 0.0;
  double ih = std::fmin(D[3] + D[1], G[3] + G[1]) - std::fmax(D[1], G[1]);
  if (ih <= 0) return 0.0;
  double inter = iw * ih;
  double uni = crowd ? da : da + ga - inter;
  return inter / uni;
}

std::vector<double> box_iou(const std::vector<std::array<double, 4>>& dt, const std::vector<std::array<double, 4>>& gt,
                            const std::vector<uint8_t>& iscrowd) {
  const size_t m = dt.size(), n = gt.size();
  std::vector<double> o(m * n, 0.0);
  for (size_t d = 0; d < m; ++d)
    for (size_t g = 0; g < n; ++g) o[d * n + g] = box_iou_one(dt[d], gt[g], !iscrowd.empty() && iscrowd[g]);
  return o;
}

namespace {

// The exact pixel IoU of two same-size RLEs (the inner loop of rleIou).
double rle_pair_iou(const Rle& dt, const Rle& gt, bool crowd) {
  if (dt.counts.empty() || gt.counts.empty()) return 0.0;
  const size_t ka = dt.counts.size(), kb = gt.counts.size();
  uint32_t ca = dt.counts[0], cb = gt.counts[0], i = 0, u = 0, ct = 1;
  bool va = false, vb = false;
  size_t a = 1, b = 1;
  while (ct > 0) {
    uint32_t c = std::min(ca, cb);
    if (va || vb) {
      u += c;
      if (va && vb) i += c;
    }
    ct = 0;
    ca -= c;
    if (!ca && a < ka) {
      ca = dt.counts[a++];
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < kb) {
      cb = gt.counts[b++];
      vb = !vb;
    }
    ct += cb;
  }
  if (i == 0)
    u = 1;
  else if (crowd)
    u = static_cast<uint32_t>(area(dt));
  return static_cast<double>(i) / static_cast<double>(u);
}

}  // namespace

double iou_one(const Rle& dt, const Rle& gt, bool crowd, const std::array<double, 4>& dt_box,
               const std::array<double, 4>& gt_box) {
  // cocoapi first intersects the masks' bounding boxes and only runs the pixel
  // sweep where they overlap; the box test decides exact zeros, so keep it.
  double o = box_iou_one(dt_box, gt_box, crowd);
  if (!(o > 0)) return o;
  if (dt.h != gt.h || dt.w != gt.w) return -1.0;
  return rle_pair_iou(dt, gt, crowd);
}

double iou_one(const Rle& dt, const Rle& gt, bool crowd) { return iou_one(dt, gt, crowd, to_bbox(dt), to_bbox(gt)); }

std::vector<double> iou(const std::vector<Rle>& dt, const std::vector<Rle>& gt, const std::vector<uint8_t>& iscrowd) {
  const size_t m = dt.size(), n = gt.size();
  std::vector<std::array<double, 4>> db(m), gb(n);
  for (size_t d = 0; d < m; ++d) db[d] = to_bbox(dt[d]);
  for (size_t g = 0; g < n; ++g) gb[g] = to_bbox(gt[g]);
  std::vector<double> o = box_iou(db, gb, iscrowd);
  for (size_t d = 0; d < m; ++d)
    for (size_t g = 0; g < n; ++g) {
      double& v = o[d * n + g];
      if (!(v > 0)) continue;
      if (dt[d].h != gt[g].h || dt[d].w != gt[g].w) {
        v = -1.0;
        continue;
      }
      v = rle_pair_iou(dt[d], gt[g], !iscrowd.empty() && iscrowd[g]);
    }
  return o;
}

std::array<double, 4> to_bbox(const Rle& r) {
  // Unsigned 32-bit arithmetic as in rleToBbox; a mask whose runs of one column
  // wrap into the next column spans the full height.
  const uint32_t h = static_cast<uint32_t>(r.h);
  const size_t m = (r.counts.size() / 2) * 2;
  if (m == 0 || h == 0) return {0, 0, 0, 0};
  uint32_t xs = static_cast<uint32_t>(r.w), ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
  for (size_t j = 0; j < m; ++j) {
    cc += r.counts[j];
    uint32_t t = cc - static_cast<uint32_t>(j % 2);
    uint32_t y = t % h, x = (t - y) / h;
    if (j % 2 == 0)
      xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = std::min(xs, x);
    xe = std::max(xe, x);
    ys = std::min(ys, y);
    ye = std::max(ye, y);
  }
  return {static_cast<double>(xs), static_cast<double>(ys), static_cast<double>(xe - xs + 1),
          static_cast<double>(ye - ys + 1)};
}

Rle from_bbox(const std::array<double, 4>& bb, int64_t h, int64_t w) {
  double xs = bb[0], xe = xs + bb[2];
  double ys = bb[1], ye = ys + bb[3];
  return from_polygon({xs, ys, xs, ye, xe, ye, xe, ys}, h, w);
}

Rle from_polygon(const std::vector<double>& xy, int64_t h, int64_t w) {
  // 1. Upsample the polygon by 5 and walk every edge pixel by pixel (a DDA),
  //    giving a dense closed boundary in the upsampled grid.
  const double scale = 5;
  const size_t k = xy.size() / 2;
  std::vector<int> x(k + 1), y(k + 1);
  for (size_t j = 0; j < k; ++j) x[j] = static_cast<int>(scale * xy[j * 2 + 0] + .5);  // C truncation, not floor
  for (size_t j = 0; j < k; ++j) y[j] = static_cast<int>(scale * xy[j * 2 + 1] + .5);
  if (k > 0) {
    x[k] = x[0];
    y[k] = y[0];
  }
  std::vector<int> u, v;
  for (size_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    const double s = dx >= dy ? static_cast<double>(ye - ys) / dx : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
      for (int d = 0; d <= dx; ++d) {
        int t = flip ? dx - d : d;
        u.push_back(t + xs);
        v.push_back(static_cast<int>(ys + s * t + .5));
      }
    } else {
      for (int d = 0; d <= dy; ++d) {
        int t = flip ? dy - d : d;
        v.push_back(t + ys);
        u.push_back(static_cast<int>(xs + s * t + .5));
      }
    }
  }
  // 2. Keep the points where the boundary crosses a pixel-centre column of the
  //    original grid, mapped back down; each gives the row where that column's
  //    inside/outside state toggles.
  std::vector<uint32_t> a;
  for (size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1]) continue;
    double xd = static_cast<double>(u[j] < u[j - 1] ? u[j] : u[j] - 1);
    xd = (xd + .5) / scale - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > static_cast<double>(w - 1)) continue;
    double yd = static_cast<double>(v[j] < v[j - 1] ? v[j] : v[j - 1]);
    yd = (yd + .5) / scale - .5;
    if (yd < 0)
      yd = 0;
    else if (yd > static_cast<double>(h))
      yd = static_cast<double>(h);
    yd = std::ceil(yd);
    a.push_back(static_cast<uint32_t>(static_cast<int>(xd) * static_cast<int>(h) + static_cast<int>(yd)));
  }
  // 3. Sorted toggle positions -> run lengths; zero-length runs fold into the next.
  a.push_back(static_cast<uint32_t>(h * w));
  std::sort(a.begin(), a.end());
  uint32_t p = 0;
  for (auto& t : a) {
    uint32_t cur = t;
    t -= p;
    p = cur;
  }
  Rle r;
  r.h = h;
  r.w = w;
  size_t j = 0;
  r.counts.push_back(a[j++]);
  while (j < a.size()) {
    if (a[j] > 0) {
      r.counts.push_back(a[j++]);
    } else {
      ++j;
      if (j < a.size()) r.counts.back() += a[j++];
    }
  }
  return r;
}

Rle from_polygons(const std::vector<std::vector<double>>& parts, int64_t h, int64_t w) {
  if (parts.empty()) return Rle{h, w, {static_cast<uint32_t>(h * w)}};
  std::vector<Rle> rles;
  rles.reserve(parts.size());
  const bool as_boxes = parts[0].size() == 4;
  for (const auto& p : parts) {
    if (as_boxes && p.size() >= 4)
      rles.push_back(from_bbox({p[0], p[1], p[2], p[3]}, h, w));
    else
      rles.push_back(from_polygon(p, h, w));
  }
  return merge(rles, false);
}

std::string to_string(const Rle& r) {
  // LEB128-like: 5 data bits per char plus a continuation bit, offset by '0'.
  // From the third run on, the difference to the run two back is stored.
  std::string s;
  s.reserve(r.counts.size() * 2);
  for (size_t i = 0; i < r.counts.size(); ++i) {
    int64_t x = static_cast<int64_t>(r.counts[i]);
    if (i > 2) x -= static_cast<int64_t>(r.counts[i - 2]);
    bool more = true;
    while (more) {
      char c = static_cast<char>(x & 0x1f);
      x >>= 5;  // arithmetic shift: negative deltas end at -1
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

Rle from_string(const std::string& s, int64_t h, int64_t w) {
  Rle r;
  r.h = h;
  r.w = w;
  size_t p = 0;
  while (p < s.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more && p < s.size()) {
      int c = static_cast<int>(static_cast<unsigned char>(s[p])) - 48;
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= static_cast<int64_t>(-1) * (int64_t{1} << (5 * k));  // sign-extend
    }
    const size_t m = r.counts.size();
    if (m > 2) x += static_cast<int64_t>(r.counts[m - 2]);
    r.counts.push_back(static_cast<uint32_t>(x));
  }
  return r;
}

Rle from_counts(const std::vector<uint32_t>& counts, int64_t h, int64_t w) { return Rle{h, w, counts}; }

}  // namespace seer::rle
