// Reading COCO json: the ground truth through nlohmann (it is small and
// irregular), the results file through a scanner of its own (it is large and
// regular; see Scanner). Records are independent, so masks are rasterised and
// records checked in parallel, and the first bad record (lowest index) is the
// one reported, whatever the scheduling.
#include "eval/coco_json.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/error.h"
#include "eval/parallel_for.h"

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

}  // namespace

// ------------------------------------------------------------------ ground truth
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

// ------------------------------------------------------------------ results
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

}  // namespace seer::eval
