#pragma once
// Flickr30k Entities (Plummer et al., ICCV 2015): phrase grounding on Flickr30k.
// The release lays out, per image id:
//   Sentences/<id>.txt    five captions, one a line, phrases marked as
//                         "[/EN#<entity id>/<type>[/<type>...] <words>]", e.g.
//                         "[/EN#221796/people A girl] with [/EN#221804/bodyparts brown hair] sits ..."
//   Annotations/<id>.xml  Pascal-VOC-like: <size> and <object>s, each with one or
//                         more <name>ENTITY_ID</name> and either a <bndbox> or the
//                         <nobndbox>/<scene> flags; an entity may have several boxes
//   images/<id>.jpg
//
// One sample per (image, caption): the caption with the markup removed (words
// joined by single spaces), and a box per entity box of the phrases that have
// one, each pointing at the character spans of every phrase of its entity in
// that caption (Target::tokens_positive). Phrases without a box (type
// "notvisual", entity 0, scene-only or nobndbox entities) stay in the caption
// and give no target. Labels are the phrase's coarse type (people, clothing,
// ...), the dataset's category table.
#include <array>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/grounded_box.h"

namespace seer {

// One marked phrase of a sentence.
struct Flickr30kPhrase {
  Span span;                       // in the cleaned caption
  int64_t entity_id = 0;           // 0 = not visual
  std::vector<std::string> types;  // e.g. {"people"}, {"clothing", "other"}, {"notvisual"}
  // False for entity 0 and for the type "notvisual": such phrases have no box.
  bool visual() const;
};

struct Flickr30kSentence {
  std::string caption;
  std::vector<Flickr30kPhrase> phrases;
};

// Parse one line of a Sentences file; returns "" or what is wrong with it.
std::string parse_flickr30k_sentence(const std::string& line, Flickr30kSentence& out);

// The boxes of one Annotations file.
struct Flickr30kAnnotation {
  int64_t width = 0, height = 0;  // <size>
  // entity id -> its boxes as xyxy pixel edges, in file order
  std::map<int64_t, std::vector<std::array<float, 4>>> boxes;
};

// Parse the text of an Annotations file; returns "" or the problem, with
// `line` set to the line of the XML element at fault.
std::string parse_flickr30k_annotation(const std::string& xml, Flickr30kAnnotation& out, int64_t& line);

// The coarse phrase types of the release that can have boxes, in the paper's
// order: the dataset's categories (ids 0..7). "notvisual" is the ninth type.
const std::vector<std::string>& flickr30k_entity_types();

struct Flickr30kOptions {
  std::string sentences_dir;    // resolved
  std::string annotations_dir;  // resolved
  std::string img_dir;          // resolved
  std::string ids_file;         // resolved list of image ids, one a line; "" = every <sentences_dir>/*.txt
  int64_t sentence = -1;        // -1 = every sentence of an image, else the index of the one to use
  bool merge_boxes = false;     // one box per entity: the union of its boxes (MDETR's "merged" ground truth)
  OnError on_error = OnError::Skip;
};

class Flickr30kDataset : public Dataset {
 public:
  explicit Flickr30kDataset(Flickr30kOptions options);

  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  Sample get(int64_t index) const override;
  std::array<int64_t, 2> image_size(int64_t index) const override;
  // The eight coarse phrase types; a box's label is its phrase's first type.
  const CategoryTable& categories() const override { return categories_; }
  std::string describe() const override;

  int64_t num_images() const { return static_cast<int64_t>(images_.size()); }

 private:
  using Box = GroundedBox;  // label: the phrase's coarse type
  struct Image {
    std::string id;  // file stem, e.g. "4945942737"
    int64_t image_id = -1;
    std::string path, sentences_file;
    int64_t height = 0, width = 0;
  };
  struct Item {
    size_t image = 0;
    int64_t line = 0;  // 1-based line in the Sentences file
    std::string caption;
    std::vector<Box> boxes;
  };
  // Targets of one parsed sentence under the image's annotation.
  std::vector<Box> targets_of(const Flickr30kSentence& sentence, const Flickr30kAnnotation& ann) const;

  Flickr30kOptions options_;
  CategoryTable categories_;
  std::vector<Image> images_;
  std::vector<Item> samples_;
  int64_t num_boxes_ = 0;
};

}  // namespace seer
