#include "data/synthetic.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "core/error.h"
#include "data/formats.h"
#include "data/rng.h"

namespace seer {

namespace {

constexpr double kMinVisible = 0.3;     // of a shape's pixels, else the shape is not drawn
constexpr double kSizeRatio = 1.5;      // "large"/"small": area factor over every other match
constexpr double kPositionMargin = 0.1; // "at the top": lead over every other match, of the image side
constexpr int kShift = 4;               // sub-pixel bits for cv drawing

const std::vector<std::array<uint8_t, 3>>& color_table() {
  static const std::vector<std::array<uint8_t, 3>> t = {
      {220, 40, 40},  {40, 170, 60},  {40, 80, 220},  {235, 210, 40}, {150, 60, 190},
      {245, 140, 30}, {40, 200, 210}, {245, 245, 245}, {25, 25, 25},   {240, 110, 180}};
  return t;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// A field of uniform noise in [-1, 1] with one value per `cell` pixels, smoothly upsampled.
cv::Mat smooth_noise(SampleRng& rng, int h, int w, int cell) {
  int gh = h / cell + 2, gw = w / cell + 2;
  cv::Mat g(gh, gw, CV_32FC3);
  for (int y = 0; y < gh; ++y) {
    auto* row = g.ptr<cv::Vec3f>(y);
    for (int x = 0; x < gw; ++x)
      for (int c = 0; c < 3; ++c) row[x][c] = static_cast<float>(rng.uniform(-1.0, 1.0));
  }
  cv::Mat up;
  cv::resize(g, up, cv::Size(w, h), 0, 0, cv::INTER_CUBIC);
  return up;
}

// Muted base colour plus noise at three scales: enough clutter that the shapes are
// not found by a colour threshold alone.
cv::Mat background(SampleRng& rng, int h, int w) {
  cv::Vec3f base;
  const double grey = rng.uniform(0.3, 0.7);
  for (int c = 0; c < 3; ++c) base[c] = static_cast<float>(grey + rng.uniform(-0.12, 0.12));
  cv::Mat img(h, w, CV_32FC3, cv::Scalar(base[0], base[1], base[2]));
  const int side = std::min(h, w);
  const std::array<std::pair<int, double>, 3> scales = {
      {{std::max(8, side / 3), 0.14}, {std::max(4, side / 12), 0.08}, {4, 0.05}}};
  for (const auto& sc : scales) {
    cv::Mat n = smooth_noise(rng, h, w, sc.first);
    cv::Mat lum;  // mostly luminance, a little colour
    cv::transform(n, lum, cv::Matx33f(0.7f, 0.15f, 0.15f, 0.15f, 0.7f, 0.15f, 0.15f, 0.15f, 0.7f));
    img += lum * sc.second;
  }
  return img;
}

// The filled shape `shape` in the square (x0, y0, s), as a 0/1 CV_8U mask.
cv::Mat draw_shape(int shape, int h, int w, double x0, double y0, double s) {
  cv::Mat m = cv::Mat::zeros(h, w, CV_8U);
  const double scale = 1 << kShift;
  auto P = [&](double x, double y) {
    return cv::Point(static_cast<int>(std::lround(x * scale)), static_cast<int>(std::lround(y * scale)));
  };
  const double cx = x0 + s / 2, cy = y0 + s / 2;
  std::vector<cv::Point> poly;
  const std::string& name = synthetic_shape_names()[shape];
  if (name == "circle") {
    cv::circle(m, P(cx, cy), static_cast<int>(std::lround(s / 2 * scale)), cv::Scalar(1), cv::FILLED, cv::LINE_8,
               kShift);
    return m;
  } else if (name == "square") {
    poly = {P(x0, y0), P(x0 + s, y0), P(x0 + s, y0 + s), P(x0, y0 + s)};
  } else if (name == "triangle") {
    const double th = s * std::sqrt(3.0) / 2, top = y0 + (s - th) / 2;
    poly = {P(cx, top), P(x0 + s, top + th), P(x0, top + th)};
  } else if (name == "star") {
    for (int k = 0; k < 10; ++k) {
      double r = (k % 2 == 0 ? 0.5 : 0.2) * s, a = -M_PI / 2 + k * M_PI / 5;
      poly.push_back(P(cx + r * std::cos(a), cy + r * std::sin(a)));
    }
  } else {  // cross: a plus sign with arms one third of the side thick
    const double a = x0 + s / 3, b = x0 + 2 * s / 3, c = y0 + s / 3, d = y0 + 2 * s / 3;
    poly = {P(a, y0), P(b, y0), P(b, c), P(x0 + s, c), P(x0 + s, d), P(b, d),
            P(b, y0 + s), P(a, y0 + s), P(a, d), P(x0, d), P(x0, c), P(a, c)};
  }
  cv::fillPoly(m, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(1), cv::LINE_8, kShift);
  return m;
}

// ------------------------------------------------------------ referring expressions

enum class Kind { Plain, Large, Small, Top, Bottom, Left, Right, LeftOf, RightOf, Above, Below };

struct Expr {
  Kind kind = Kind::Plain;
  int64_t cls = 0, color = 0;         // head phrase
  int64_t lm_cls = -1, lm_color = -1;  // landmark phrase of a relation
};

bool is_relation(Kind k) { return k == Kind::LeftOf || k == Kind::RightOf || k == Kind::Above || k == Kind::Below; }

float cx(const SyntheticObject& o) { return (o.box[0] + o.box[2]) / 2; }
float cy(const SyntheticObject& o) { return (o.box[1] + o.box[3]) / 2; }

// Does object `i` satisfy `e` (the meaning documented in synthetic.h)?
bool satisfies(const Expr& e, size_t i, const std::vector<SyntheticObject>& objs, int64_t h, int64_t w) {
  const SyntheticObject& o = objs[i];
  if (o.cls != e.cls || o.color != e.color) return false;
  std::vector<size_t> others;  // the other objects of the same phrase
  for (size_t j = 0; j < objs.size(); ++j)
    if (j != i && objs[j].cls == e.cls && objs[j].color == e.color) others.push_back(j);
  auto all_others = [&](auto pred) {
    if (others.empty()) return false;
    for (size_t j : others)
      if (!pred(objs[j])) return false;
    return true;
  };
  const float mh = static_cast<float>(kPositionMargin * h), mw = static_cast<float>(kPositionMargin * w);
  switch (e.kind) {
    case Kind::Plain: return true;
    case Kind::Large: return all_others([&](const SyntheticObject& p) { return o.area >= kSizeRatio * p.area; });
    case Kind::Small: return all_others([&](const SyntheticObject& p) { return o.area * kSizeRatio <= p.area; });
    case Kind::Top: return all_others([&](const SyntheticObject& p) { return cy(o) + mh <= cy(p); });
    case Kind::Bottom: return all_others([&](const SyntheticObject& p) { return cy(o) >= cy(p) + mh; });
    case Kind::Left: return all_others([&](const SyntheticObject& p) { return cx(o) + mw <= cx(p); });
    case Kind::Right: return all_others([&](const SyntheticObject& p) { return cx(o) >= cx(p) + mw; });
    default: break;
  }
  // relation: the landmark phrase must name exactly one object
  int64_t lm = -1, count = 0;
  for (size_t j = 0; j < objs.size(); ++j)
    if (objs[j].cls == e.lm_cls && objs[j].color == e.lm_color) {
      lm = static_cast<int64_t>(j);
      ++count;
    }
  if (count != 1 || lm == static_cast<int64_t>(i)) return false;
  const SyntheticObject& l = objs[lm];
  switch (e.kind) {
    case Kind::LeftOf: return cx(o) < l.box[0];
    case Kind::RightOf: return cx(o) > l.box[2];
    case Kind::Above: return cy(o) < l.box[1];
    case Kind::Below: return cy(o) > l.box[3];
    default: return false;
  }
}

// The text of `e` and the span of its head phrase in it.
std::string phrase(const Expr& e, const std::vector<std::string>& classes, const std::vector<std::string>& colors,
                   Span& head) {
  static const char* size_words[] = {"", "large ", "small "};
  std::string s = "the ";
  if (e.kind == Kind::Large || e.kind == Kind::Small) s += size_words[e.kind == Kind::Large ? 1 : 2];
  head.begin = static_cast<int64_t>(s.size());
  s += colors[e.color] + " " + classes[e.cls];
  head.end = static_cast<int64_t>(s.size());
  switch (e.kind) {
    case Kind::Top: s += " at the top"; break;
    case Kind::Bottom: s += " at the bottom"; break;
    case Kind::Left: s += " at the left"; break;
    case Kind::Right: s += " at the right"; break;
    case Kind::LeftOf: s += " left of"; break;
    case Kind::RightOf: s += " right of"; break;
    case Kind::Above: s += " above"; break;
    case Kind::Below: s += " below"; break;
    default: break;
  }
  if (is_relation(e.kind)) s += " the " + colors[e.lm_color] + " " + classes[e.lm_cls];
  return s;
}

}  // namespace

const std::vector<std::string>& synthetic_shape_names() {
  static const std::vector<std::string> n = {"circle", "square", "triangle", "star", "cross"};
  return n;
}

const std::vector<std::string>& synthetic_color_names() {
  static const std::vector<std::string> n = {"red",    "green", "blue", "yellow", "purple",
                                             "orange", "cyan",  "white", "black", "pink"};
  return n;
}

std::pair<int64_t, int64_t> parse_synthetic_combination(const std::string& entry,
                                                        const std::vector<std::string>& classes,
                                                        const std::vector<std::string>& colors) {
  std::vector<std::string> words;
  std::string w;
  for (char ch : entry + " ") {
    if (ch == ' ' || ch == '\t') {
      if (!w.empty()) words.push_back(w);
      w.clear();
    } else {
      w += ch;
    }
  }
  if (words.size() != 2) throw ConfigError("'" + entry + "' is not a \"<colour> <class>\" combination");
  auto index = [&](const std::string& word, const std::vector<std::string>& known, const char* what,
                   const char* key) -> int64_t {
    auto it = std::find(known.begin(), known.end(), word);
    if (it != known.end()) return static_cast<int64_t>(it - known.begin());
    std::string near = nearest(word, known), all;
    for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
    throw ConfigError("'" + entry + "': " + what + " '" + word + "' is not in " + key + " [" + all + "]" +
                      (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; entries read \"<colour> <class>\"");
  };
  const int64_t color = index(words[0], colors, "colour", "colors");
  const int64_t cls = index(words[1], classes, "class", "classes");
  return {cls, color};
}

namespace {

// The first problem of the holdout settings as (key, message), key "" when none;
// `held` receives the parsed combinations. Shared by the constructor and the
// config reader, which names the key.
std::pair<std::string, std::string> holdout_problem(const SyntheticOptions& o,
                                                    std::set<std::pair<int64_t, int64_t>>& held) {
  for (const auto& entry : o.holdout) {
    try {
      if (!held.insert(parse_synthetic_combination(entry, o.classes, o.colors)).second)
        return {"holdout", "'" + entry + "' is listed twice"};
    } catch (const ConfigError& e) {
      return {"holdout", e.what()};
    }
  }
  const std::string& mode = o.holdout_mode;
  if (mode != "exclude" && mode != "only" && mode != "all")
    return {"holdout_mode", "expects exclude, only or all, got '" + mode + "'"};
  if (mode == "only" && held.empty()) return {"holdout_mode", "only needs a non-empty holdout list"};
  if (mode == "exclude" && held.size() == o.classes.size() * o.colors.size())
    return {"holdout", "excludes every colour x class combination: nothing is left to draw"};
  return {};
}

}  // namespace

struct SyntheticDataset::Rendered {
  cv::Mat image;                         // RGB uint8
  std::vector<SyntheticObject> objects;  // drawn, in order
  std::vector<cv::Mat> masks;            // visible pixels of each, 0/1 CV_8U
  int64_t referent = -1;                 // referring mode: the referred object
  std::string expression;
  Span head;
};

SyntheticDataset::SyntheticDataset(SyntheticOptions options) : options_(std::move(options)) {
  const auto& shapes = synthetic_shape_names();
  const auto& colors = synthetic_color_names();
  for (size_t i = 0; i < options_.classes.size(); ++i) {
    auto it = std::find(shapes.begin(), shapes.end(), options_.classes[i]);
    if (it == shapes.end()) throw ConfigError("synthetic: unknown shape '" + options_.classes[i] + "'");
    shape_ids_.push_back(static_cast<int>(it - shapes.begin()));
    tag_names_.push_back(options_.classes[i]);
  }
  for (const auto& c : options_.colors) {
    auto it = std::find(colors.begin(), colors.end(), c);
    if (it == colors.end()) throw ConfigError("synthetic: unknown colour '" + c + "'");
    rgb_.push_back(color_table()[it - colors.begin()]);
    tag_names_.push_back(c);
  }
  const int64_t n_cls = static_cast<int64_t>(options_.classes.size());
  const int64_t n_col = static_cast<int64_t>(options_.colors.size());
  if (options_.categories == "classes") {
    for (int64_t i = 0; i < n_cls; ++i) categories_.add(i + 1, options_.classes[i]);
  } else if (options_.categories == "color_classes") {
    for (int64_t col = 0; col < n_col; ++col)  // colour-major, as category_of()
      for (int64_t cls = 0; cls < n_cls; ++cls)
        categories_.add(col * n_cls + cls + 1, options_.colors[col] + " " + options_.classes[cls]);
  } else {
    throw ConfigError("synthetic: unknown categories '" + options_.categories + "' (classes or color_classes)");
  }

  std::set<std::pair<int64_t, int64_t>> held;
  const auto [key, problem] = holdout_problem(options_, held);
  if (!key.empty()) throw ConfigError("synthetic: " + key + ": " + problem);
  const std::string& mode = options_.holdout_mode;
  if (mode != "all" && !held.empty())
    for (int64_t col = 0; col < n_col; ++col)
      for (int64_t cls = 0; cls < n_cls; ++cls)
        if ((held.count({cls, col}) > 0) == (mode == "only")) allowed_.push_back({cls, col});
  if (options_.caption_names != "all" && options_.caption_names != "drawable")
    throw ConfigError("synthetic: unknown caption_names '" + options_.caption_names + "' (all or drawable)");
  drawable_.assign(static_cast<size_t>(categories_.size()), allowed_.empty());
  for (const auto& [cls, col] : allowed_) drawable_[category_of(SyntheticObject{cls, col})] = true;
}

int64_t SyntheticDataset::category_of(const SyntheticObject& o) const {
  if (options_.categories == "classes") return o.cls;
  return o.color * static_cast<int64_t>(options_.classes.size()) + o.cls;
}

uint64_t SyntheticDataset::image_seed(int64_t index) const {
  return sample_seed(options_.seed ^ fnv1a("synthetic/" + options_.split), 0, index);
}

std::array<int64_t, 2> SyntheticDataset::image_size(int64_t index) const {
  SampleRng rng(image_seed(index));
  int64_t h = rng.randint(options_.min_size, options_.max_size);
  int64_t w = rng.randint(options_.min_size, options_.max_size);
  return {h, w};
}

SyntheticDataset::Rendered SyntheticDataset::render(int64_t index) const {
  SampleRng rng(image_seed(index));
  // the first two draws are image_size()'s
  const int h = static_cast<int>(rng.randint(options_.min_size, options_.max_size));
  const int w = static_cast<int>(rng.randint(options_.min_size, options_.max_size));
  cv::Mat canvas = background(rng, h, w);
  const int64_t n_cls = static_cast<int64_t>(options_.classes.size());
  const int64_t n_col = static_cast<int64_t>(options_.colors.size());
  const bool referring = options_.caption == "referring";

  Rendered r;
  std::vector<cv::Mat> shapes;  // full shape of each drawn object
  std::vector<double> shades;
  for (int attempt = 0;; ++attempt) {
    // A referring scene needs one expression that names a single object; the few
    // scenes without one are re-drawn (last resort: one object, always nameable).
    const bool last_resort = referring && attempt == 20;
    const int64_t n = last_resort ? 1 : rng.randint(options_.min_objects, options_.max_objects);
    struct Candidate {
      int64_t cls, color;
      cv::Mat shape;
      double shade;
    };
    std::vector<Candidate> cand;
    const double side = std::min(h, w);
    const double smin = std::max(8.0, 0.08 * side), smax = std::max(smin, 0.5 * side);
    for (int64_t k = 0; k < n; ++k) {
      Candidate c;
      if (allowed_.empty()) {  // every combination: two draws, as before holdouts existed
        c.cls = rng.randint(0, n_cls - 1);
        c.color = rng.randint(0, n_col - 1);
      } else {
        const auto& pair = allowed_[rng.randint(0, static_cast<int64_t>(allowed_.size()) - 1)];
        c.cls = pair.first;
        c.color = pair.second;
      }
      const double s = std::exp(rng.uniform(std::log(smin), std::log(smax)));  // small to large, log-uniform
      const double x0 = rng.uniform(0, w - s), y0 = rng.uniform(0, h - s);
      c.shade = rng.uniform(0.8, 1.1);
      c.shape = draw_shape(shape_ids_[c.cls], h, w, x0, y0, s);
      cand.push_back(std::move(c));
    }
    // Later shapes occlude earlier ones: walk back to front, keep a shape only if
    // enough of it shows past the shapes kept in front of it.
    cv::Mat occluded = cv::Mat::zeros(h, w, CV_8U);
    std::vector<bool> keep(cand.size(), false);
    std::vector<cv::Mat> visible(cand.size());
    for (int64_t k = static_cast<int64_t>(cand.size()) - 1; k >= 0; --k) {
      const int full = cv::countNonZero(cand[k].shape);
      cv::Mat vis = cand[k].shape & (occluded == 0);  // (occluded == 0) is 0/255
      const int shown = cv::countNonZero(vis);
      if (full == 0 || shown < kMinVisible * full) continue;
      keep[k] = true;
      visible[k] = vis;
      occluded |= cand[k].shape;
    }
    r.objects.clear();
    r.masks.clear();
    shapes.clear();
    shades.clear();
    for (size_t k = 0; k < cand.size(); ++k) {
      if (!keep[k]) continue;
      cv::Rect bb = cv::boundingRect(visible[k]);
      SyntheticObject o;
      o.cls = cand[k].cls;
      o.color = cand[k].color;
      o.box = {static_cast<float>(bb.x), static_cast<float>(bb.y), static_cast<float>(bb.x + bb.width),
               static_cast<float>(bb.y + bb.height)};
      o.area = cv::countNonZero(visible[k]);
      r.objects.push_back(o);
      r.masks.push_back(visible[k]);
      shapes.push_back(cand[k].shape);
      shades.push_back(cand[k].shade);
    }
    if (!referring || last_resort) break;
    if (r.objects.empty()) continue;
    // Every expression the scene supports that names exactly one object; pick a
    // kind first (plain, size, position, relation) so relations do not dominate.
    std::vector<std::vector<Expr>> by_group(4);
    std::set<std::pair<int64_t, int64_t>> phrases;
    for (const auto& o : r.objects) phrases.insert({o.cls, o.color});
    for (const auto& ph : phrases) {
      std::vector<Expr> exprs;
      for (Kind k : {Kind::Plain, Kind::Large, Kind::Small, Kind::Top, Kind::Bottom, Kind::Left, Kind::Right})
        exprs.push_back(Expr{k, ph.first, ph.second});
      for (const auto& lm : phrases)
        if (lm != ph)
          for (Kind k : {Kind::LeftOf, Kind::RightOf, Kind::Above, Kind::Below})
            exprs.push_back(Expr{k, ph.first, ph.second, lm.first, lm.second});
      for (const Expr& e : exprs) {
        int matches = 0;
        for (size_t i = 0; i < r.objects.size(); ++i) matches += satisfies(e, i, r.objects, h, w);
        if (matches != 1) continue;
        int group = e.kind == Kind::Plain ? 0 : (e.kind == Kind::Large || e.kind == Kind::Small) ? 1 : is_relation(e.kind) ? 3 : 2;
        by_group[group].push_back(e);
      }
    }
    std::vector<int> groups;
    for (int g = 0; g < 4; ++g)
      if (!by_group[g].empty()) groups.push_back(g);
    if (groups.empty()) continue;
    const auto& pool = by_group[groups[rng.randint(0, static_cast<int64_t>(groups.size()) - 1)]];
    const Expr& e = pool[rng.randint(0, static_cast<int64_t>(pool.size()) - 1)];
    for (size_t i = 0; i < r.objects.size(); ++i)
      if (satisfies(e, i, r.objects, h, w)) r.referent = static_cast<int64_t>(i);
    r.expression = phrase(e, options_.classes, options_.colors, r.head);
    break;
  }
  if (referring && r.referent < 0) {  // the one-object scene
    if (r.objects.empty()) throw RuntimeError("synthetic: could not draw a referring scene");
    r.referent = 0;
    r.expression = phrase(Expr{Kind::Plain, r.objects[0].cls, r.objects[0].color}, options_.classes,
                          options_.colors, r.head);
  }

  for (size_t k = 0; k < r.objects.size(); ++k) {
    const auto& c = rgb_[r.objects[k].color];
    const double f = shades[k] / 255.0;
    canvas.setTo(cv::Scalar(std::min(1.0, c[0] * f), std::min(1.0, c[1] * f), std::min(1.0, c[2] * f)), shapes[k]);
  }
  // per-pixel grain over everything, shapes included
  cv::Mat grain(h, w, CV_32FC3);
  for (int y = 0; y < h; ++y) {
    auto* row = grain.ptr<cv::Vec3f>(y);
    for (int x = 0; x < w; ++x) {
      const float g = static_cast<float>(rng.uniform(-0.04, 0.04));
      for (int ch = 0; ch < 3; ++ch) row[x][ch] = g + static_cast<float>(rng.uniform(-0.015, 0.015));
    }
  }
  canvas += grain;
  canvas.convertTo(r.image, CV_8UC3, 255.0);
  return r;
}

std::vector<SyntheticObject> SyntheticDataset::scene(int64_t index) const { return render(index).objects; }

Sample SyntheticDataset::get(int64_t index) const {
  if (index < 0 || index >= size())
    throw RuntimeError("synthetic: index " + std::to_string(index) + " out of range [0, " + std::to_string(size()) + ")");
  Rendered r = render(index);
  Sample s;
  s.image = r.image;
  Target& t = s.target;
  const int64_t h = r.image.rows, w = r.image.cols;

  std::vector<size_t> chosen;
  if (options_.caption == "referring") {
    chosen = {static_cast<size_t>(r.referent)};
    t.caption = r.expression;
  } else {
    for (size_t k = 0; k < r.objects.size(); ++k) chosen.push_back(k);
  }
  std::vector<Span> category_spans(categories_.names.size());  // per category: its name in the caption
  if (options_.caption == "classes") {
    for (size_t c = 0; c < categories_.names.size(); ++c) {
      if (options_.caption_names == "drawable" && !drawable_[c]) continue;
      int64_t b = static_cast<int64_t>(t.caption.size());
      t.caption += categories_.names[c];
      category_spans[c] = {b, static_cast<int64_t>(t.caption.size())};
      t.caption += " . ";
    }
    t.caption.pop_back();  // "circle . square . triangle ." or "red circle . red square . ..."
  }

  const int64_t n = static_cast<int64_t>(chosen.size());
  t.boxes = torch::zeros({n, 4}, torch::kFloat32);
  t.labels = torch::zeros({n}, torch::kInt64);
  t.area = torch::zeros({n}, torch::kFloat32);
  t.iscrowd = torch::zeros({n}, torch::kUInt8);
  if (options_.with_masks) t.masks = torch::zeros({n, h, w}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const SyntheticObject& o = r.objects[chosen[i]];
    for (int c = 0; c < 4; ++c) t.boxes[i][c] = o.box[c];
    t.labels[i] = category_of(o);
    t.area[i] = static_cast<float>(o.area);
    if (options_.with_masks) {
      const cv::Mat& m = r.masks[chosen[i]];  // 0/1 CV_8U, continuous
      std::memcpy(t.masks[i].data_ptr<uint8_t>(), m.data, static_cast<size_t>(h * w));
    }
    if (options_.caption == "classes") t.tokens_positive.push_back({category_spans[category_of(o)]});
    else if (options_.caption == "referring") t.tokens_positive.push_back({r.head});
    else t.tokens_positive.emplace_back();
  }
  const int64_t n_cls = static_cast<int64_t>(options_.classes.size());
  t.tags = torch::zeros({static_cast<int64_t>(tag_names_.size())}, torch::kFloat32);
  for (const auto& o : r.objects) {
    t.tags[o.cls] = 1.f;
    t.tags[n_cls + o.color] = 1.f;
  }
  t.image_id = index;
  t.orig_size = {h, w};
  t.size = {h, w};
  t.file_name = "synthetic/" + options_.split + "/" + std::to_string(index);
  return s;
}

std::string SyntheticDataset::describe() const {
  std::string held;
  for (const auto& h : options_.holdout) held += (held.empty() ? "" : ", ") + h;
  return "synthetic(" + options_.split + ", " + std::to_string(size()) + " images, seed " +
         std::to_string(options_.seed) + ", caption " + options_.caption + ", categories " + options_.categories +
         " (" + std::to_string(categories_.size()) + ")" +
         (held.empty() ? std::string()
                       : ", holdout " + options_.holdout_mode + (options_.holdout_mode == "all" ? " (ignored)" : "") +
                             " [" + held + "]") +
         (options_.caption_names == "drawable" ? ", caption_names drawable" : "") + ")";
}

DatasetBuilder read_synthetic_dataset(const ConfigSection& s, const DatasetContext& ctx) {
  SyntheticOptions o;
  o.split = ctx.split.empty() ? "train" : ctx.split;
  o.num_images = s.get<int64_t>("num_images", o.split == "val" ? 50 : 200, "images in the split (default 200 train, 50 val)");
  if (o.num_images < 1) s.fail("num_images", "must be >= 1");
  const int64_t seed = s.get<int64_t>("seed", 0, "generator seed (the split is mixed in, so train and val differ)");
  o.seed = static_cast<uint64_t>(seed);
  o.min_size = s.get<int64_t>("min_size", o.min_size, "smallest image side in pixels");
  o.max_size = s.get<int64_t>("max_size", o.max_size, "largest image side in pixels");
  if (o.min_size < 32) s.fail("min_size", "must be >= 32, got " + std::to_string(o.min_size));
  if (o.max_size < o.min_size) s.fail("max_size", "must be >= min_size (" + std::to_string(o.min_size) + ")");
  if (o.max_size > 4096) s.fail("max_size", "must be <= 4096");
  o.min_objects = s.get<int64_t>("min_objects", o.min_objects, "fewest shapes drawn per image");
  o.max_objects = s.get<int64_t>("max_objects", o.max_objects, "most shapes drawn per image (occluded ones are dropped)");
  if (o.min_objects < 0) s.fail("min_objects", "must be >= 0");
  if (o.max_objects < o.min_objects) s.fail("max_objects", "must be >= min_objects");
  if (o.max_objects > 50) s.fail("max_objects", "must be <= 50");
  auto check_names = [&](const char* key, const std::vector<std::string>& names, const std::vector<std::string>& known) {
    if (names.empty()) s.fail(key, "must not be empty");
    std::set<std::string> seen;
    for (const auto& n : names) {
      if (std::find(known.begin(), known.end(), n) == known.end()) {
        std::string near = nearest(n, known), all;
        for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
        s.fail(key, "unknown name '" + n + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; known: " + all);
      }
      if (!seen.insert(n).second) s.fail(key, "'" + n + "' is listed twice");
    }
  };
  o.classes = s.get<std::vector<std::string>>("classes", o.classes, "shape classes: circle, square, triangle, star, cross");
  check_names("classes", o.classes, synthetic_shape_names());
  o.colors = s.get<std::vector<std::string>>("colors", o.colors, "shape colours (fixed RGB): red, green, blue, yellow, purple, orange, cyan, white, black, pink");
  check_names("colors", o.colors, synthetic_color_names());
  o.caption = s.get<std::string>("caption", o.caption, "classes (\"circle . square .\"), referring (one object per sample) or none");
  if (o.caption != "classes" && o.caption != "referring" && o.caption != "none")
    s.fail("caption", "expects classes, referring or none, got '" + o.caption + "'");
  if (o.caption == "referring" && o.min_objects < 1) s.fail("min_objects", "must be >= 1 for caption: referring");
  o.with_masks = s.get<bool>("with_masks", o.with_masks, "provide instance masks of the visible pixels");
  o.categories = s.get<std::string>("categories", o.categories,
                                    "classes (one category per class) or color_classes (one per \"<colour> <class>\", "
                                    "colour-major: red circle, red square, ..., green circle, ...)");
  if (o.categories != "classes" && o.categories != "color_classes")
    s.fail("categories", "expects classes or color_classes, got '" + o.categories + "'");
  o.holdout = s.get<std::vector<std::string>>("holdout", o.holdout,
                                              "held-out \"<colour> <class>\" combinations, e.g. [\"blue triangle\"] "
                                              "(see holdout_mode)");
  o.holdout_mode = s.get<std::string>("holdout_mode", o.holdout_mode,
                                      "exclude (holdout combinations are never drawn), only (every object is one of "
                                      "them) or all (holdout ignored)");
  std::set<std::pair<int64_t, int64_t>> held;
  const auto [key, problem] = holdout_problem(o, held);
  if (!key.empty()) s.fail(key, problem);
  o.caption_names = s.get<std::string>("caption_names", o.caption_names,
                                       "caption: classes lists all category names, or drawable: only those the "
                                       "holdout lets occur (for training captions that never name a held-out "
                                       "combination; evaluation scores per category only on the full list)");
  if (o.caption_names != "all" && o.caption_names != "drawable")
    s.fail("caption_names", "expects all or drawable, got '" + o.caption_names + "'");
  return [o] { return std::make_shared<SyntheticDataset>(o); };
}

}  // namespace seer
