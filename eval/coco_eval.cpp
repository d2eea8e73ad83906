// COCOeval in C++. The structure follows pycocotools (evaluateImg per image and
// category, accumulate per category / area / maxDets, summarize), but the data is
// laid out flat and the work is spread over threads: images and categories are
// independent until accumulate, and accumulate is independent per category.
#include "eval/coco_eval.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <exception>
#include <functional>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string_view>
#include <thread>

#include "core/error.h"

namespace seer::eval {

using nlohmann::json;

IouType parse_iou_type(const std::string& s) {
  if (s == "bbox") return IouType::Bbox;
  if (s == "segm") return IouType::Segm;
  throw UsageError("unknown --iou-type '" + s + "' (expected bbox or segm)");
}

const char* to_string(IouType t) { return t == IouType::Bbox ? "bbox" : "segm"; }

int64_t CocoDataset::image_index(int64_t id) const {
  auto it = image_index_.find(id);
  return it == image_index_.end() ? -1 : it->second;
}

int64_t CocoDataset::category_index(int64_t id) const {
  auto it = category_index_.find(id);
  return it == category_index_.end() ? -1 : it->second;
}

void CocoDataset::build_index() {
  image_index_.clear();
  category_index_.clear();
  for (size_t i = 0; i < images.size(); ++i) image_index_[images[i].id] = static_cast<int64_t>(i);
  for (size_t i = 0; i < categories.size(); ++i) category_index_[categories[i].id] = static_cast<int64_t>(i);
}

// ------------------------------------------------------------------ json helpers
namespace {

std::string read_file(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw DataError("cannot open " + std::string(what) + " file '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Python's json module writes NaN / Infinity / -Infinity, which are not JSON.
// Turn them into null outside strings, so that the record holding one can be
// named by the validation below instead of failing the whole parse.
std::string nonfinite_to_null(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 16);
  bool in_str = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_str) {
      out.push_back(c);
      if (c == '\\' && i + 1 < s.size())
        out.push_back(s[++i]);
      else if (c == '"')
        in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    if (s.compare(i, 3, "NaN") == 0) {
      out += "null";
      i += 2;
    } else if (s.compare(i, 8, "Infinity") == 0) {
      out += "null";
      i += 7;
    } else if (s.compare(i, 9, "-Infinity") == 0) {
      out += "null";
      i += 8;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

json parse_json(const std::string& text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    j = json::parse(nonfinite_to_null(text), nullptr, false);
    if (j.is_discarded()) {
      // Parse once more with exceptions on, for the byte position in the message.
      try {
        json again = json::parse(text);
        (void)again;
      } catch (const json::parse_error& e) {
        throw DataError("malformed json in '" + source + "': " + e.what());
      }
      throw DataError("malformed json in '" + source + "'");
    }
  }
  return j;
}

// "what" is e.g. "results record 12"; every failure names it.
struct Where {
  const std::string& source;
  std::string what;
  [[noreturn]] void fail(const std::string& msg) const { throw DataError(source + ": " + what + ": " + msg); }
};

const json& field(const json& o, const char* key, const Where& w) {
  auto it = o.find(key);
  if (it == o.end()) w.fail(std::string("missing '") + key + "'");
  return *it;
}

int64_t get_id(const json& o, const char* key, const Where& w) {
  const json& v = field(o, key, w);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d)) return static_cast<int64_t>(d);
  }
  w.fail(std::string("'") + key + "' is not an integer id: " + v.dump());
}

double get_number(const json& v, const std::string& name, const Where& w) {
  if (!v.is_number()) w.fail("'" + name + "' is not a finite number: " + v.dump());
  double d = v.get<double>();
  if (!std::isfinite(d)) w.fail("'" + name + "' is not a finite number");
  return d;
}

std::array<double, 4> get_box(const json& v, const Where& w, bool check_size) {
  if (!v.is_array() || v.size() != 4) w.fail("'bbox' must be [x, y, w, h], got " + v.dump().substr(0, 80));
  std::array<double, 4> b{};
  for (int k = 0; k < 4; ++k) b[k] = get_number(v[k], "bbox[" + std::to_string(k) + "]", w);
  if (check_size && (b[2] < 0 || b[3] < 0))
    w.fail("'bbox' has a negative size (w=" + std::to_string(b[2]) + ", h=" + std::to_string(b[3]) + ")");
  return b;
}

// pycocotools annToRLE: polygons (merged), uncompressed RLE, or compressed RLE.
// Polygons take the image size; RLEs carry their own 'size'.
rle::Rle segmentation_to_rle(const json& segm, int64_t h, int64_t w, const Where& where, bool check_size) {
  if (segm.is_array()) {
    std::vector<std::vector<double>> parts;
    parts.reserve(segm.size());
    for (const auto& p : segm) {
      if (!p.is_array()) where.fail("'segmentation' polygon is not a list of numbers");
      std::vector<double> xy;
      xy.reserve(p.size());
      for (const auto& v : p) xy.push_back(get_number(v, "segmentation", where));
      parts.push_back(std::move(xy));
    }
    if (parts.empty()) where.fail("'segmentation' is an empty polygon list");
    if (parts[0].size() < 4) where.fail("'segmentation' polygon has fewer than 2 points");
    return rle::from_polygons(parts, h, w);
  }
  if (!segm.is_object()) where.fail("'segmentation' must be polygons or an RLE {size, counts}");
  const json& size = field(segm, "size", where);
  if (!size.is_array() || size.size() != 2 || !size[0].is_number_integer() || !size[1].is_number_integer())
    where.fail("segmentation 'size' must be [h, w]");
  const int64_t rh = size[0].get<int64_t>(), rw = size[1].get<int64_t>();
  if (rh < 0 || rw < 0) where.fail("segmentation 'size' is negative");
  const json& counts = field(segm, "counts", where);
  rle::Rle r;
  if (counts.is_string()) {
    r = rle::from_string(counts.get_ref<const std::string&>(), rh, rw);
  } else if (counts.is_array()) {
    std::vector<uint32_t> c;
    c.reserve(counts.size());
    for (const auto& v : counts) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) where.fail("segmentation 'counts' must be non-negative ints");
      c.push_back(static_cast<uint32_t>(v.get<int64_t>()));
    }
    r = rle::from_counts(c, rh, rw);
  } else {
    where.fail("segmentation 'counts' must be a string or a list of ints");
  }
  if (!check_size) return r;
  // Runs that cover more or fewer pixels than h*w mean a mask of the wrong size.
  uint64_t total = 0;
  for (uint32_t c : r.counts) total += c;
  if (total != static_cast<uint64_t>(rh * rw))
    where.fail("segmentation runs cover " + std::to_string(total) + " pixels, not size " + std::to_string(rh) + "x" +
               std::to_string(rw));
  return r;
}

// Run fn(i) for i in [0, n) on up to `threads` threads, indices taken from a
// counter. An exception is rethrown after the join: the one of the lowest index,
// so that the first bad record is the one reported, whatever the scheduling.
void parallel_for(size_t n, int threads, const std::function<void(size_t)>& fn) {
  if (threads <= 1 || n <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t err_index = SIZE_MAX;
  std::exception_ptr err;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (i < err_index) err_index = i, err = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  const int t = static_cast<int>(std::min<size_t>(threads, n));
  for (int k = 1; k < t; ++k) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (err) std::rethrow_exception(err);
}

int resolve_threads(int n) {
  if (n > 0) return n;
  unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : static_cast<int>(h);
}

}  // namespace

// ------------------------------------------------------------------ loading
CocoDataset parse_coco_gt(const std::string& text, bool with_masks, const std::string& source) {
  json j = parse_json(text, source);
  if (!j.is_object()) throw DataError(source + ": a COCO ground truth must be a json object");
  CocoDataset ds;
  if (auto it = j.find("images"); it != j.end()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const json& o = (*it)[i];
      Where w{source, "images[" + std::to_string(i) + "]"};
      if (!o.is_object()) w.fail("not an object");
      CocoImage im;
      im.id = get_id(o, "id", w);
      if (auto h = o.find("height"); h != o.end() && h->is_number()) im.height = h->get<int64_t>();
      if (auto wd = o.find("width"); wd != o.end() && wd->is_number()) im.width = wd->get<int64_t>();
      if (auto f = o.find("file_name"); f != o.end() && f->is_string()) im.file_name = f->get<std::string>();
      ds.images.push_back(std::move(im));
    }
  }
  if (auto it = j.find("categories"); it != j.end()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const json& o = (*it)[i];
      Where w{source, "categories[" + std::to_string(i) + "]"};
      if (!o.is_object()) w.fail("not an object");
      CocoCategory c;
      c.id = get_id(o, "id", w);
      if (auto n = o.find("name"); n != o.end() && n->is_string()) c.name = n->get<std::string>();
      ds.categories.push_back(std::move(c));
    }
  }
  ds.build_index();
  if (auto it = j.find("annotations"); it != j.end()) {
    const json& anns = *it;
    ds.annotations.resize(anns.size());
    auto one = [&](size_t i) {
      const json& o = anns[i];
      Where w{source, "annotations[" + std::to_string(i) + "]"};
      if (!o.is_object()) w.fail("not an object");
      CocoAnn& a = ds.annotations[i];
      a.id = get_id(o, "id", w);
      a.image_id = get_id(o, "image_id", w);
      a.category_id = get_id(o, "category_id", w);
      if (auto b = o.find("bbox"); b != o.end()) a.bbox = get_box(*b, w, false);
      if (auto ar = o.find("area"); ar != o.end()) a.area = get_number(*ar, "area", w);
      if (auto c = o.find("iscrowd"); c != o.end()) {
        if (c->is_boolean())
          a.iscrowd = c->get<bool>();
        else
          a.iscrowd = get_number(*c, "iscrowd", w) != 0;
      }
      if (with_masks) {
        const int64_t ii = ds.image_index(a.image_id);
        if (ii < 0) return;  // pycocotools never looks at annotations of unlisted images
        if (auto s = o.find("segmentation"); s != o.end()) {
          a.mask = segmentation_to_rle(*s, ds.images[ii].height, ds.images[ii].width, w, false);
          a.mask_box = rle::to_bbox(a.mask);
        } else {
          w.fail("missing 'segmentation' (needed for segm evaluation)");
        }
      }
    };
    // Rasterising polygons is the costly part; annotations are independent.
    parallel_for(anns.size(), with_masks ? resolve_threads(0) : 1, one);
  }
  return ds;
}

CocoDataset load_coco_gt(const std::string& path, bool with_masks) {
  return parse_coco_gt(read_file(path, "ground-truth"), with_masks, path);
}

namespace {

// A minimal scanner over the results text. The file is one big list of small flat
// objects, and building a DOM for it costs more than the whole evaluation; so
// records are split by the scanner and the common shape ({image_id, category_id,
// bbox, score} with plain numbers) is read directly. Anything else (masks, odd
// types, NaN, bad values) goes through nlohmann on that record alone, which also
// words the error.
class Scanner {
 public:
  Scanner(std::string_view text, const std::string& source) : s_(text), source_(source) {}

  size_t pos() const { return p_; }
  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) ++p_;
  }
  bool peek(char c) {
    ws();
    return p_ < s_.size() && s_[p_] == c;
  }
  void expect(char c) {
    ws();
    if (p_ >= s_.size() || s_[p_] != c) fail(std::string("expected '") + c + "'");
    ++p_;
  }
  bool at_end() {
    ws();
    return p_ >= s_.size();
  }
  // A string's raw content (escapes left as they are; keys never need them).
  std::string_view string() {
    expect('"');
    const size_t b = p_;
    while (p_ < s_.size() && s_[p_] != '"') p_ += s_[p_] == '\\' ? 2 : 1;
    if (p_ >= s_.size()) fail("unterminated string");
    return s_.substr(b, p_++ - b);
  }
  // The text of a scalar token (number, true, false, null, NaN, Infinity).
  std::string_view token() {
    ws();
    const size_t b = p_;
    while (p_ < s_.size() && !std::strchr(",]} \n\r\t", s_[p_])) ++p_;
    if (p_ == b) fail("expected a value");
    return s_.substr(b, p_ - b);
  }
  // Skip any value; checks nesting and strings, not the scalar grammar (nlohmann
  // does that when a record falls back to it).
  void skip_value() {
    ws();
    if (p_ >= s_.size()) fail("unexpected end of input");
    const char c = s_[p_];
    if (c == '"') {
      string();
    } else if (c == '[' || c == '{') {
      const char close = c == '[' ? ']' : '}';
      ++p_;
      if (peek(close)) {
        ++p_;
        return;
      }
      for (;;) {
        if (c == '{') {
          string();
          expect(':');
        }
        skip_value();
        if (peek(',')) {
          ++p_;
          continue;
        }
        expect(close);
        return;
      }
    } else {
      token();
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError("malformed json in '" + source_ + "' at byte " + std::to_string(p_) + ": " + what);
  }

 private:
  std::string_view s_;
  const std::string& source_;
  size_t p_ = 0;
};

bool to_double(std::string_view t, double& v) {
  auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  return r.ec == std::errc() && r.ptr == t.data() + t.size() && std::isfinite(v);
}

bool to_int(std::string_view t, int64_t& v) {
  auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  return r.ec == std::errc() && r.ptr == t.data() + t.size();
}

// The fast path for one plain box record; false = let nlohmann handle it.
bool fast_box_record(std::string_view rec, const CocoDataset& gt, CocoAnn& a) {
  static const std::string src;
  Scanner sc(rec, src);
  bool has_img = false, has_cat = false, has_score = false, has_box = false;
  try {
    sc.expect('{');
    if (sc.peek('}')) return false;
    for (;;) {
      std::string_view key = sc.string();
      sc.expect(':');
      if (key == "image_id") {
        if (!to_int(sc.token(), a.image_id)) return false;
        has_img = true;
      } else if (key == "category_id") {
        if (!to_int(sc.token(), a.category_id)) return false;
        has_cat = true;
      } else if (key == "score") {
        if (!to_double(sc.token(), a.score)) return false;
        has_score = true;
      } else if (key == "bbox") {
        sc.expect('[');
        for (int k = 0; k < 4; ++k) {
          if (k) sc.expect(',');
          if (!to_double(sc.token(), a.bbox[k])) return false;
        }
        sc.expect(']');
        has_box = true;
      } else if (key == "segmentation") {
        return false;
      } else {
        sc.skip_value();
      }
      if (sc.peek(',')) {
        sc.expect(',');
        continue;
      }
      sc.expect('}');
      break;
    }
  } catch (const DataError&) {
    return false;
  }
  if (!(has_img && has_cat && has_score && has_box)) return false;
  if (a.bbox[2] < 0 || a.bbox[3] < 0) return false;
  if (gt.image_index(a.image_id) < 0 || gt.category_index(a.category_id) < 0) return false;
  a.area = a.bbox[2] * a.bbox[3];
  return true;
}

}  // namespace

std::vector<CocoAnn> parse_coco_results(const std::string& text, const CocoDataset& gt, IouType type,
                                        const std::string& source) {
  // Split the top-level list into record spans.
  Scanner sc(text, source);
  if (!sc.peek('[')) {
    parse_json(text, source);  // a syntax error is worded there
    throw DataError(source + ": a results file must be a json list of detections");
  }
  sc.expect('[');
  std::vector<std::string_view> recs;
  if (!sc.peek(']')) {
    for (;;) {
      sc.ws();
      const size_t b = sc.pos();
      sc.skip_value();
      recs.push_back(std::string_view(text).substr(b, sc.pos() - b));
      if (sc.peek(',')) {
        sc.expect(',');
        continue;
      }
      sc.expect(']');
      break;
    }
  }
  if (!sc.at_end()) sc.fail("trailing characters after the list");

  std::vector<CocoAnn> out(recs.size());
  if (recs.empty()) return out;
  auto parse_record = [&](size_t i) {
    json o = json::parse(recs[i], nullptr, false);
    if (o.is_discarded()) o = json::parse(nonfinite_to_null(std::string(recs[i])), nullptr, false);
    if (o.is_discarded()) {
      json again;
      try {
        again = json::parse(recs[i]);
      } catch (const json::parse_error& e) {
        throw DataError("malformed json in '" + source + "': results record " + std::to_string(i) + ": " + e.what());
      }
    }
    return o;
  };
  // COCO.loadRes decides from the first record: a non-empty bbox means "box
  // results" (area = w*h, mask = the box polygon when absent), else masks.
  const json first = parse_record(0);
  const bool box_results =
      first.is_object() && first.contains("bbox") && !(first["bbox"].is_array() && first["bbox"].empty());
  if (!box_results && !(first.is_object() && first.contains("segmentation")))
    throw DataError(source + ": results record 0: has neither 'bbox' nor 'segmentation'");
  const bool need_mask = type == IouType::Segm;
  auto one = [&](size_t i) {
    CocoAnn& a = out[i];
    a.id = static_cast<int64_t>(i) + 1;
    if (box_results && !need_mask && fast_box_record(recs[i], gt, a)) return;
    const json o = parse_record(i);
    Where w{source, "results record " + std::to_string(i)};
    if (!o.is_object()) w.fail("not an object");
    a.image_id = get_id(o, "image_id", w);
    const int64_t ii = gt.image_index(a.image_id);
    if (ii < 0) w.fail("image_id " + std::to_string(a.image_id) + " is not in the ground truth");
    a.category_id = get_id(o, "category_id", w);
    if (gt.category_index(a.category_id) < 0)
      w.fail("category_id " + std::to_string(a.category_id) + " is not in the ground truth");
    a.score = get_number(field(o, "score", w), "score", w);
    const CocoImage& im = gt.images[ii];
    if (box_results) {
      a.bbox = get_box(field(o, "bbox", w), w, true);
      a.area = a.bbox[2] * a.bbox[3];
      if (need_mask) {
        if (auto s = o.find("segmentation"); s != o.end()) {
          a.mask = segmentation_to_rle(*s, im.height, im.width, w, true);
        } else {
          const double x1 = a.bbox[0], y1 = a.bbox[1], x2 = a.bbox[0] + a.bbox[2], y2 = a.bbox[1] + a.bbox[3];
          a.mask = rle::from_polygon({x1, y1, x1, y2, x2, y2, x2, y1}, im.height, im.width);
        }
      }
    } else {
      a.mask = segmentation_to_rle(field(o, "segmentation", w), im.height, im.width, w, true);
      a.area = static_cast<double>(rle::area(a.mask));
      if (auto b = o.find("bbox"); b != o.end())
        a.bbox = get_box(*b, w, true);
      else
        a.bbox = rle::to_bbox(a.mask);
      if (!need_mask) a.mask = rle::Rle{};
    }
    if (need_mask) {
      if (a.mask.h != im.height || a.mask.w != im.width)
        w.fail("mask size " + std::to_string(a.mask.h) + "x" + std::to_string(a.mask.w) + " differs from image " +
               std::to_string(a.image_id) + " (" + std::to_string(im.height) + "x" + std::to_string(im.width) + ")");
      a.mask_box = rle::to_bbox(a.mask);
    }
  };
  // Records are independent; the lowest bad index is the one reported.
  parallel_for(recs.size(), resolve_threads(0), one);
  return out;
}

std::vector<CocoAnn> load_coco_results(const std::string& path, const CocoDataset& gt, IouType type) {
  return parse_coco_results(read_file(path, "results"), gt, type, path);
}

// ------------------------------------------------------------------ params
CocoEvalParams::CocoEvalParams() {
  // np.linspace(start, stop, n): i * ((stop - start) / (n - 1)) + start, last = stop.
  const double istep = (0.95 - 0.5) / 9;
  for (int i = 0; i < 9; ++i) iou_thrs.push_back(i * istep + 0.5);
  iou_thrs.push_back(0.95);
  const double rstep = (1.0 - 0.0) / 100;
  for (int i = 0; i < 100; ++i) rec_thrs.push_back(i * rstep + 0.0);
  rec_thrs.push_back(1.0);
}

// ------------------------------------------------------------------ evaluation
namespace {

// One (category, image) pair with ground truth or detections: pycocotools'
// non-None evalImgs entry, for every area range at once.
struct PairRange {
  int64_t image;                 // position in the sorted image id list
  size_t gt_begin, gt_end;       // into the grouped gt index list
  size_t dt_begin, dt_end;       // into the grouped dt index list
};

// What accumulate needs of the evaluated pairs of one chunk. Per pair e:
// scores[off[e] .. off[e+1]) are its detections, best first, cut at maxDets[-1];
// state[(off[e]*A + a*D_e + d) * T + t] says whether detection d is, at area
// range a and threshold t, ignored (0), a true positive (1) or a false positive (2).
struct ChunkResult {
  std::vector<size_t> off{0};
  std::vector<double> scores;
  std::vector<uint8_t> state;
  std::vector<int64_t> npig;  // [pair][A] ground truths that are not ignored
};

struct Evaluation {
  const CocoEvalParams& p;
  const std::vector<const CocoAnn*>& gts;  // grouped: by category slot, image, then file order
  const std::vector<const CocoAnn*>& dts;
  int T, A;
  int max_det;

  double iou(const CocoAnn& d, const CocoAnn& g) const {
    if (p.iou_type == IouType::Bbox) return rle::box_iou_one(d.bbox, g.bbox, g.iscrowd);
    return rle::iou_one(d.mask, g.mask, g.iscrowd, d.mask_box, g.mask_box);
  }

  void run(const PairRange& pr, ChunkResult& out, std::vector<double>& ious, std::vector<size_t>& dorder,
           std::vector<size_t>& gorder, std::vector<int64_t>& gtm_used) const {
    // Detections best first (a stable sort, as numpy's mergesort), cut at maxDets[-1].
    const size_t nd_all = pr.dt_end - pr.dt_begin, G = pr.gt_end - pr.gt_begin;
    dorder.resize(nd_all);
    std::iota(dorder.begin(), dorder.end(), pr.dt_begin);
    std::stable_sort(dorder.begin(), dorder.end(), [&](size_t a, size_t b) { return dts[a]->score > dts[b]->score; });
    const size_t D = std::min<size_t>(nd_all, static_cast<size_t>(max_det));
    ious.resize(D * G);
    for (size_t d = 0; d < D; ++d)
      for (size_t g = 0; g < G; ++g) ious[d * G + g] = iou(*dts[dorder[d]], *gts[pr.gt_begin + g]);

    const size_t off = out.off.back();
    for (size_t d = 0; d < D; ++d) out.scores.push_back(dts[dorder[d]]->score);
    out.off.push_back(off + D);
    out.state.resize((off + D) * A * T);

    for (int a = 0; a < A; ++a) {
      const double lo = p.area_rng[a][0], hi = p.area_rng[a][1];
      // Ground truths not ignored first (stable), as evaluateImg sorts them.
      gorder.clear();
      int64_t npig = 0;
      for (size_t g = 0; g < G; ++g) {
        const CocoAnn& gt = *gts[pr.gt_begin + g];
        if (!(gt.iscrowd || gt.area < lo || gt.area > hi)) {
          gorder.push_back(g);
          ++npig;
        }
      }
      for (size_t g = 0; g < G; ++g) {
        const CocoAnn& gt = *gts[pr.gt_begin + g];
        if (gt.iscrowd || gt.area < lo || gt.area > hi) gorder.push_back(g);
      }
      out.npig.push_back(npig);
      uint8_t* st = out.state.data() + (off * A + static_cast<size_t>(a) * D) * T;
      for (int t = 0; t < T; ++t) {
        gtm_used.assign(G, 0);  // the id of the detection matched to each gt at this threshold
        for (size_t d = 0; d < D; ++d) {
          const CocoAnn& dt = *dts[dorder[d]];
          double best = std::min(p.iou_thrs[t], 1 - 1e-10);
          int64_t m = -1;
          for (size_t gi = 0; gi < G; ++gi) {
            const size_t g = gorder[gi];
            const CocoAnn& gt = *gts[pr.gt_begin + g];
            if (gtm_used[gi] > 0 && !gt.iscrowd) continue;  // taken, and not a crowd
            // Matched a regular gt already and reached the ignored ones: stop.
            if (m > -1 && static_cast<int64_t>(gi) >= npig && m < npig) break;
            const double v = ious[d * G + g];
            if (v < best) continue;
            best = v;
            m = static_cast<int64_t>(gi);
          }
          bool ignored = false, matched = false;
          if (m != -1) {
            const CocoAnn& gt = *gts[pr.gt_begin + gorder[m]];
            ignored = m >= npig;
            // pycocotools stores the gt id as the match and tests it for != 0,
            // so a match to a gt with id 0 counts as no match.
            matched = gt.id != 0;
            gtm_used[m] = dt.id;
          }
          if (!matched && (dt.area < lo || dt.area > hi)) ignored = true;
          st[d * T + t] = ignored ? 0 : (matched ? 1 : 2);
        }
      }
    }
  }
};

}  // namespace

CocoEvalResult coco_evaluate(const CocoDataset& gt, const std::vector<CocoAnn>& dt, const CocoEvalParams& p) {
  CocoEvalResult res;
  res.iou_type = p.iou_type;
  res.iou_thrs = p.iou_thrs;
  res.rec_thrs = p.rec_thrs;
  res.max_dets = p.max_dets;
  std::sort(res.max_dets.begin(), res.max_dets.end());
  res.area_lbl = p.area_lbl;
  const int T = static_cast<int>(p.iou_thrs.size()), R = static_cast<int>(p.rec_thrs.size());
  const int A = static_cast<int>(p.area_rng.size()), M = static_cast<int>(res.max_dets.size());
  if (M == 0) throw RuntimeError("coco_evaluate: max_dets is empty");
  const int threads = resolve_threads(p.num_threads);

  // Images and categories: sorted unique ids (np.unique), as evaluate() does.
  std::vector<int64_t> img_ids = p.img_ids, cat_ids = p.cat_ids;
  if (img_ids.empty())
    for (const auto& im : gt.images) img_ids.push_back(im.id);
  if (cat_ids.empty())
    for (const auto& c : gt.categories) cat_ids.push_back(c.id);
  std::sort(img_ids.begin(), img_ids.end());
  img_ids.erase(std::unique(img_ids.begin(), img_ids.end()), img_ids.end());
  std::sort(cat_ids.begin(), cat_ids.end());
  cat_ids.erase(std::unique(cat_ids.begin(), cat_ids.end()), cat_ids.end());
  std::unordered_map<int64_t, int64_t> img_pos, cat_pos;
  for (size_t i = 0; i < img_ids.size(); ++i) img_pos[img_ids[i]] = static_cast<int64_t>(i);
  for (size_t i = 0; i < cat_ids.size(); ++i) cat_pos[cat_ids[i]] = static_cast<int64_t>(i);

  const int K = p.use_cats ? static_cast<int>(cat_ids.size()) : 1;
  res.T = T, res.R = R, res.K = K, res.A = A, res.M = M;
  if (p.use_cats) {
    res.cat_ids = cat_ids;
    for (int64_t id : cat_ids) {
      int64_t ci = gt.category_index(id);
      res.cat_names.push_back(ci >= 0 ? gt.categories[ci].name : std::to_string(id));
    }
  } else {
    res.cat_ids = {-1};
    res.cat_names = {"all"};
  }

  // Group annotations by (category slot, image, category) keeping file order inside
  // a group: exactly the order of pycocotools' _gts/_dts lists, and with useCats=0
  // the per-image concatenation over sorted category ids.
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
  std::vector<const CocoAnn*> gts(gk.size()), dts(dk.size());
  for (size_t i = 0; i < gk.size(); ++i) gts[i] = gk[i].ann;
  for (size_t i = 0; i < dk.size(); ++i) dts[i] = dk[i].ann;

  // Walk both groupings together: one PairRange per (slot, image) with anything in it.
  std::vector<std::vector<PairRange>> pairs(K);
  {
    size_t gi = 0, di = 0;
    while (gi < gk.size() || di < dk.size()) {
      auto key = [](const Keyed& k) { return std::make_pair(k.slot, k.image); };
      std::pair<int64_t, int64_t> kg = gi < gk.size() ? key(gk[gi]) : std::make_pair(INT64_MAX, INT64_MAX);
      std::pair<int64_t, int64_t> kd = di < dk.size() ? key(dk[di]) : std::make_pair(INT64_MAX, INT64_MAX);
      auto k = std::min(kg, kd);
      PairRange pr{k.second, gi, gi, di, di};
      while (pr.gt_end < gk.size() && key(gk[pr.gt_end]) == k) ++pr.gt_end;
      while (pr.dt_end < dk.size() && key(dk[pr.dt_end]) == k) ++pr.dt_end;
      gi = pr.gt_end;
      di = pr.dt_end;
      pairs[k.first].push_back(pr);
    }
  }

  // Evaluate: chunks of pairs (each within one slot) spread over threads.
  struct Chunk {
    int k;
    size_t begin, end;
  };
  std::vector<Chunk> chunks;
  const size_t chunk_size = 64;
  for (int k = 0; k < K; ++k)
    for (size_t b = 0; b < pairs[k].size(); b += chunk_size)
      chunks.push_back({k, b, std::min(pairs[k].size(), b + chunk_size)});
  std::vector<ChunkResult> results(chunks.size());
  Evaluation ev{p, gts, dts, T, A, res.max_dets.back()};
  parallel_for(chunks.size(), threads, [&](size_t c) {
    std::vector<double> ious;
    std::vector<size_t> dorder, gorder;
    std::vector<int64_t> used;
    for (size_t i = chunks[c].begin; i < chunks[c].end; ++i)
      ev.run(pairs[chunks[c].k][i], results[c], ious, dorder, gorder, used);
  });
  std::vector<std::vector<size_t>> chunks_of(K);
  for (size_t c = 0; c < chunks.size(); ++c) chunks_of[chunks[c].k].push_back(c);

  // Accumulate per (category, maxDets): one sort of the detections serves every
  // area range and threshold.
  res.precision.assign(static_cast<size_t>(T) * R * K * A * M, -1.0);
  res.recall.assign(static_cast<size_t>(T) * K * A * M, -1.0);
  const double eps = 2.220446049250313e-16;  // np.spacing(1)
  parallel_for(static_cast<size_t>(K) * M, threads, [&](size_t km) {
    const int k = static_cast<int>(km / M), m = static_cast<int>(km % M);
    const size_t max_det = static_cast<size_t>(res.max_dets[m]);
    struct Det {
      double score;
      const uint8_t* state;  // state of area range 0; area a is at + a * stride
      size_t stride;
    };
    std::vector<Det> dets;
    std::vector<int64_t> npig(A, 0);
    size_t n_pairs = 0;
    for (size_t c : chunks_of[k]) {
      const ChunkResult& r = results[c];
      for (size_t e = 0; e + 1 < r.off.size(); ++e) {
        ++n_pairs;
        const size_t D = r.off[e + 1] - r.off[e];
        for (int a = 0; a < A; ++a) npig[a] += r.npig[e * A + a];
        const size_t n = std::min(D, max_det);
        for (size_t d = 0; d < n; ++d)
          dets.push_back({r.scores[r.off[e] + d], r.state.data() + (r.off[e] * A + d) * T, D * T});
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
  });

  const int last = res.max_dets.back();
  const int m0 = res.max_dets[0], m1 = M > 1 ? res.max_dets[1] : last, m2 = M > 2 ? res.max_dets[2] : last;
  res.stats = {res.summarize(true, -1, "all", m2),     res.summarize(true, 0.5, "all", m2),
               res.summarize(true, 0.75, "all", m2),   res.summarize(true, -1, "small", m2),
               res.summarize(true, -1, "medium", m2),  res.summarize(true, -1, "large", m2),
               res.summarize(false, -1, "all", m0),    res.summarize(false, -1, "all", m1),
               res.summarize(false, -1, "all", m2),    res.summarize(false, -1, "small", m2),
               res.summarize(false, -1, "medium", m2), res.summarize(false, -1, "large", m2)};
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
