#include "data/flickr30k.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/formats.h"
#include "data/grounded_box.h"
#include "data/image_io.h"
#include "data/record_errors.h"
#include "data/xml_tree.h"

namespace seer {

// In a named namespace of their own: seer_data compiles in unity batches,
// where another reader's anonymous helpers (tagging.cpp's trim) may share the unit.
namespace {
namespace f30k {

const char* const kNotVisual = "notvisual";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// A whole-text integer with an optional sign ("12", " -3 "); false otherwise.
bool parse_int(const std::string& text, int64_t& out) {
  std::string t = trim(text);
  bool negative = !t.empty() && (t[0] == '-' || t[0] == '+');
  std::string digits = negative ? t.substr(1) : t;
  if (!all_digits(digits)) return false;
  out = std::stoll(digits);
  if (t[0] == '-') out = -out;
  return true;
}

bool read_file(const std::string& path, std::string& out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

int64_t type_index(const std::string& type) {
  const auto& types = flickr30k_entity_types();
  auto it = std::find(types.begin(), types.end(), type);
  return it == types.end() ? -1 : it - types.begin();
}

// "[/EN#<entity id>/<type>[/<type>...]" -> entity id and types.
std::string parse_marker(const std::string& token, Flickr30kPhrase& p) {
  static const std::string prefix = "[/EN#";
  auto bad = [&](const std::string& why) { return "malformed phrase marker '" + token + "': " + why; };
  if (token.compare(0, prefix.size(), prefix) != 0) return bad("expected '[/EN#<entity id>/<type>'");
  if (token.find(']') != std::string::npos) return bad("the phrase has no words");
  size_t slash = token.find('/', prefix.size());
  std::string id = token.substr(prefix.size(), slash == std::string::npos ? std::string::npos : slash - prefix.size());
  if (!all_digits(id)) return bad("entity id '" + id + "' is not a number");
  p.entity_id = std::stoll(id);
  if (slash == std::string::npos) return bad("no entity type");
  std::string rest = token.substr(slash + 1);
  for (size_t b = 0;;) {
    size_t e = rest.find('/', b);
    std::string type = rest.substr(b, e == std::string::npos ? std::string::npos : e - b);
    if (type.empty()) return bad("empty entity type");
    if (type != kNotVisual && type_index(type) < 0) {
      std::string known;
      for (const auto& t : flickr30k_entity_types()) known += t + ", ";
      return bad("unknown entity type '" + type + "' (known: " + known + kNotVisual + ")");
    }
    p.types.push_back(type);
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return "";
}

}  // namespace f30k
}  // namespace

const std::vector<std::string>& flickr30k_entity_types() {
  static const std::vector<std::string> types = {"people",   "clothing",    "bodyparts", "animals",
                                                 "vehicles", "instruments", "scene",     "other"};
  return types;
}

bool Flickr30kPhrase::visual() const {
  return entity_id != 0 && std::find(types.begin(), types.end(), f30k::kNotVisual) == types.end();
}

std::string parse_flickr30k_sentence(const std::string& line, Flickr30kSentence& out) {
  out = Flickr30kSentence();
  // Tokens are whitespace-separated. Outside a phrase, a token opening with '['
  // is a phrase marker (not a word); inside one, the token ending with ']' is
  // the phrase's last word. The caption is the words joined by single spaces.
  bool open = false;
  Flickr30kPhrase phrase;
  std::string marker;
  int64_t phrase_words = 0;
  std::istringstream tokens(line);
  std::string token;
  auto add_word = [&](const std::string& w) {
    if (!out.caption.empty()) out.caption += ' ';
    if (open && phrase_words++ == 0) phrase.span.begin = static_cast<int64_t>(out.caption.size());
    out.caption += w;
  };
  while (tokens >> token) {
    if (!open) {
      if (token[0] == '[') {
        phrase = Flickr30kPhrase();
        std::string problem = f30k::parse_marker(token, phrase);
        if (!problem.empty()) return problem;
        open = true;
        marker = token;
        phrase_words = 0;
      } else if (token.back() == ']') {
        return "']' outside a phrase in '" + token + "'";
      } else {
        add_word(token);
      }
      continue;
    }
    if (token[0] == '[') return "phrase '" + marker + "' is not closed before '" + token + "'";
    if (token.back() != ']') {
      add_word(token);
      continue;
    }
    std::string word = token.substr(0, token.size() - 1);
    if (!word.empty() && word.back() == ']') return "stray ']' in '" + token + "'";
    if (!word.empty()) add_word(word);
    if (phrase_words == 0) return "phrase '" + marker + "' has no words";
    phrase.span.end = static_cast<int64_t>(out.caption.size());
    out.phrases.push_back(phrase);
    open = false;
  }
  if (open) return "phrase '" + marker + "' is not closed (no ']' before the end of the line)";
  if (out.caption.empty()) return "empty sentence";
  return "";
}

std::string parse_flickr30k_annotation(const std::string& xml, Flickr30kAnnotation& out, int64_t& line) {
  out = Flickr30kAnnotation();
  XmlElement root;
  XmlError err = parse_xml(xml, root);
  line = err.line;
  if (!err.problem.empty()) return "malformed XML: " + err.problem;
  line = root.line;
  if (root.name != "annotation") return "root element is <" + root.name + ">, expected <annotation>";
  const XmlElement* size = root.child("size");
  if (!size) return "no <size> element";
  for (const char* key : {"width", "height"}) {
    const XmlElement* v = size->child(key);
    line = v ? v->line : size->line;
    int64_t n = 0;
    if (!v) return std::string("<size> has no <") + key + ">";
    if (!f30k::parse_int(v->text, n) || n <= 0)
      return std::string("<size><") + key + "> '" + f30k::trim(v->text) + "' is not a positive integer";
    (std::string(key) == "width" ? out.width : out.height) = n;
  }
  auto objects = root.children_named("object");
  for (size_t k = 0; k < objects.size(); ++k) {
    const XmlElement& o = *objects[k];
    const std::string where = "object #" + std::to_string(k) + ": ";
    line = o.line;
    auto names = o.children_named("name");
    if (names.empty()) return where + "has no <name>";
    std::vector<int64_t> ids;
    for (const XmlElement* n : names) {
      int64_t id = -1;
      line = n->line;
      if (!f30k::parse_int(n->text, id) || id < 0) return where + "<name> '" + f30k::trim(n->text) + "' is not an entity id";
      ids.push_back(id);
    }
    // No <bndbox> (or an empty one, which MDETR's conversion also skips): a
    // <nobndbox>/<scene> object, which gives its entities no box.
    const XmlElement* bb = o.child("bndbox");
    if (!bb || bb->children.empty()) continue;
    std::array<int64_t, 4> c{};
    const char* keys[4] = {"xmin", "ymin", "xmax", "ymax"};
    for (int i = 0; i < 4; ++i) {
      const XmlElement* v = bb->child(keys[i]);
      line = v ? v->line : bb->line;
      if (!v) return where + "<bndbox> has no <" + keys[i] + ">";
      if (!f30k::parse_int(v->text, c[i])) return where + "<" + keys[i] + "> '" + f30k::trim(v->text) + "' is not an integer";
    }
    line = bb->line;
    if (c[2] < c[0]) return where + "xmax " + std::to_string(c[2]) + " < xmin " + std::to_string(c[0]);
    if (c[3] < c[1]) return where + "ymax " + std::to_string(c[3]) + " < ymin " + std::to_string(c[1]);
    // VOC convention: 1-based inclusive pixel indices. The release's own reader
    // (flickr30k_entities_utils.get_annotations) subtracts 1 from all four,
    // giving 0-based inclusive indices; as pixel edges, which Target::boxes
    // holds, that is [xmin-1, ymin-1, xmax, ymax], so a box of one pixel has
    // width 1. (MDETR's conversion keeps [xmin, ymin, xmax, ymax] as they are:
    // one pixel right and down at the top-left corner.)
    std::array<float, 4> xyxy = {static_cast<float>(c[0] - 1), static_cast<float>(c[1] - 1),
                                 static_cast<float>(c[2]), static_cast<float>(c[3])};
    for (int64_t id : ids) out.boxes[id].push_back(xyxy);
  }
  line = 0;
  return "";
}

Flickr30kDataset::Flickr30kDataset(Flickr30kOptions options) : options_(std::move(options)) {
  namespace fs = std::filesystem;
  const auto& types = flickr30k_entity_types();
  for (size_t i = 0; i < types.size(); ++i) categories_.add(static_cast<int64_t>(i), types[i]);
  std::error_code ec;
  if (!fs::is_directory(options_.sentences_dir, ec))
    throw DataError("Flickr30k Entities sentences folder '" + options_.sentences_dir + "': not found");
  if (!fs::is_directory(options_.annotations_dir, ec))
    throw DataError("Flickr30k Entities annotations folder '" + options_.annotations_dir + "': not found");

  std::vector<std::string> ids;
  if (!options_.ids_file.empty()) {
    std::ifstream in(options_.ids_file, std::ios::binary);
    if (!in) throw DataError("Flickr30k Entities id list '" + options_.ids_file + "': file not found or unreadable");
    RecordErrors errors(options_.ids_file, options_.on_error);
    std::string text;
    for (int64_t line = 1; std::getline(in, text); ++line) {
      std::string id = f30k::trim(text);
      if (id.empty()) continue;
      if (id.find_first_of(" \t/\\") != std::string::npos) {
        errors.report_line(line, "'" + id + "' is not an image id");
        continue;
      }
      ids.push_back(id);
    }
    skipped_records_ += errors.skipped();
  } else {
    for (const auto& entry : fs::directory_iterator(options_.sentences_dir, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".txt") ids.push_back(entry.path().stem().string());
    std::sort(ids.begin(), ids.end());
    if (ids.empty()) throw DataError("Flickr30k Entities sentences folder '" + options_.sentences_dir + "': no <image id>.txt files");
  }

  for (const std::string& id : ids) {
    Image im;
    im.id = id;
    im.image_id = f30k::all_digits(id) ? std::stoll(id) : static_cast<int64_t>(images_.size());
    im.sentences_file = (fs::path(options_.sentences_dir) / (id + ".txt")).string();
    im.path = (fs::path(options_.img_dir) / (id + ".jpg")).string();
    const std::string xml_file = (fs::path(options_.annotations_dir) / (id + ".xml")).string();
    // One report per broken file or line: under `skip` it drops what it names
    // (a whole image for its xml, one caption for a sentence line).
    auto report = [&](const std::string& file, int64_t line, const std::string& problem) {
      RecordErrors errors(file, options_.on_error);
      if (line > 0)
        errors.report_line(line, problem);
      else
        errors.report("image " + id, problem);
      skipped_records_ += errors.skipped();
    };

    std::string text;
    if (!f30k::read_file(im.sentences_file, text)) {
      report(im.sentences_file, 0, "sentences file not found or unreadable");
      continue;
    }
    std::string xml;
    if (!f30k::read_file(xml_file, xml)) {
      report(xml_file, 0, "annotation file not found or unreadable (the image has captions in " + im.sentences_file + ")");
      continue;
    }
    Flickr30kAnnotation ann;
    int64_t xml_line = 0;
    std::string problem = parse_flickr30k_annotation(xml, ann, xml_line);
    if (!problem.empty()) {
      report(xml_file, xml_line, problem);
      continue;
    }
    im.height = ann.height;
    im.width = ann.width;

    // The captions: the non-empty lines, numbered as in the file.
    std::vector<std::pair<int64_t, std::string>> lines;
    std::istringstream in(text);
    std::string l;
    for (int64_t n = 1; std::getline(in, l); ++n)
      if (!f30k::trim(l).empty()) lines.emplace_back(n, l);
    size_t first = 0, last = lines.size();
    if (options_.sentence >= 0) {
      if (options_.sentence >= static_cast<int64_t>(lines.size())) {
        report(im.sentences_file, 0, "has " + std::to_string(lines.size()) + " sentences, no sentence #" +
                                         std::to_string(options_.sentence) + " (0-based)");
        continue;
      }
      first = static_cast<size_t>(options_.sentence);
      last = first + 1;
    }
    bool any = false;
    for (size_t k = first; k < last; ++k) {
      Flickr30kSentence s;
      problem = parse_flickr30k_sentence(lines[k].second, s);
      if (!problem.empty()) {
        report(im.sentences_file, lines[k].first, problem);
        continue;
      }
      Item item;
      item.image = images_.size();
      item.line = lines[k].first;
      item.caption = s.caption;
      item.boxes = targets_of(s, ann);
      num_boxes_ += static_cast<int64_t>(item.boxes.size());
      samples_.push_back(std::move(item));
      any = true;
    }
    if (any) images_.push_back(std::move(im));
  }
}

std::vector<Flickr30kDataset::Box> Flickr30kDataset::targets_of(const Flickr30kSentence& sentence,
                                                                const Flickr30kAnnotation& ann) const {
  // The visual entities in order of first mention, each with the spans of all
  // its phrases (an entity can be named twice: "a player ... the player").
  struct Mention {
    int64_t entity = 0, label = 0;
    std::vector<Span> spans;
  };
  std::vector<Mention> mentions;
  for (const auto& p : sentence.phrases) {
    if (!p.visual()) continue;
    auto it = std::find_if(mentions.begin(), mentions.end(), [&](const Mention& m) { return m.entity == p.entity_id; });
    if (it == mentions.end()) {
      // visual() excludes "notvisual", so every type is one of the categories
      mentions.push_back({p.entity_id, f30k::type_index(p.types.front()), {}});
      it = mentions.end() - 1;
    }
    it->spans.push_back(p.span);
  }
  std::vector<Box> out;
  for (const auto& m : mentions) {
    auto found = ann.boxes.find(m.entity);
    if (found == ann.boxes.end()) continue;  // scene / nobndbox entities, or not annotated
    std::vector<std::array<float, 4>> boxes = found->second;
    if (options_.merge_boxes) {
      std::array<float, 4> u = boxes.front();
      for (const auto& b : boxes) {
        u[0] = std::min(u[0], b[0]);
        u[1] = std::min(u[1], b[1]);
        u[2] = std::max(u[2], b[2]);
        u[3] = std::max(u[3], b[3]);
      }
      boxes = {u};
    }
    for (const auto& b : boxes) {
      // One box annotated for two entities (an <object> with two <name>s) is one
      // target naming the phrases of both, as in MDETR's conversion.
      auto same = std::find_if(out.begin(), out.end(), [&](const Box& o) { return o.xyxy == b; });
      if (same == out.end()) {
        out.push_back({b, m.label, m.spans});
        continue;
      }
      same->spans.insert(same->spans.end(), m.spans.begin(), m.spans.end());
      std::sort(same->spans.begin(), same->spans.end(),
                [](const Span& x, const Span& y) { return x.begin != y.begin ? x.begin < y.begin : x.end < y.end; });
      same->spans.erase(std::unique(same->spans.begin(), same->spans.end()), same->spans.end());
    }
  }
  return out;
}

std::array<int64_t, 2> Flickr30kDataset::image_size(int64_t index) const {
  const Image& im = images_.at(samples_.at(index).image);
  return {im.height, im.width};
}

std::string Flickr30kDataset::describe() const {
  return "flickr30k_entities(" + std::to_string(images_.size()) + " images, " + std::to_string(samples_.size()) +
         " captions, " + std::to_string(num_boxes_) + (options_.merge_boxes ? " merged boxes)" : " boxes)");
}

Sample Flickr30kDataset::get(int64_t index) const {
  const Item& item = samples_.at(index);
  const Image& im = images_.at(item.image);
  Sample s;
  try {
    s.image = read_image_rgb(im.path);
  } catch (const DataError& e) {
    throw DataError(im.sentences_file + ":" + std::to_string(item.line) + ": " + e.what());
  }
  const float h = static_cast<float>(s.image.rows), w = static_cast<float>(s.image.cols);
  Target& t = s.target;
  set_grounded_boxes(t, item.boxes, w, h);  // clamped; boxes left empty dropped with their spans
  t.caption = item.caption;
  t.image_id = im.image_id;
  t.orig_size = {s.image.rows, s.image.cols};
  t.size = t.orig_size;
  t.file_name = im.path;
  return s;
}

DatasetBuilder read_flickr30k_dataset(const ConfigSection& section, const DatasetContext& ctx) {
  Flickr30kOptions o;
  o.sentences_dir = resolve_data_path(
      ctx.root, section.get<std::string>("sentences_dir", "Sentences",
                                         "folder of <image id>.txt captions with the [/EN#id/type ...] markup (relative to data.root)"));
  o.annotations_dir = resolve_data_path(
      ctx.root, section.get<std::string>("annotations_dir", "Annotations",
                                         "folder of <image id>.xml boxes, Pascal VOC style (relative to data.root)"));
  o.img_dir = resolve_data_path(
      ctx.root, section.get<std::string>("img_dir", "images", "folder of <image id>.jpg (relative to data.root)"));
  std::string ids = section.get<std::string>(
      "ids", "", "image id list, one a line, e.g. the release's train.txt / val.txt / test.txt ('' = every <sentences_dir>/*.txt)");
  o.ids_file = ids.empty() ? "" : resolve_data_path(ctx.root, ids);
  std::string sentence = section.get<std::string>(
      "sentence", "all", "captions used per image: all (one sample each) | first | an index 0, 1, ... (0-based)");
  if (sentence == "all") {
    o.sentence = -1;
  } else if (sentence == "first") {
    o.sentence = 0;
  } else if (f30k::all_digits(sentence)) {
    o.sentence = std::stoll(sentence);
  } else {
    section.fail("sentence", "expected all, first or a sentence index 0, 1, ..., got '" + sentence + "'");
  }
  o.merge_boxes = section.get<bool>(
      "merge_boxes", false,
      "one box per phrase entity, the union of its boxes (MDETR's merged ground truth); false = one per annotated box");
  o.on_error = ctx.on_error;
  return [o]() { return std::make_shared<Flickr30kDataset>(o); };
}

}  // namespace seer
