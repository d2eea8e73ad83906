#pragma once
// The synthetic dataset (`type: synthetic`): coloured shapes on textured noise,
// with boxes, visible-pixel masks, captions and tags. It is the embedded default
// that lets every config run on a fresh clone with no data files, and the
// fixture of the data tests.
//
//   dataset: {type: synthetic, num_images: 200, seed: 0, caption: classes}
//   dataset: {type: synthetic, categories: color_classes, holdout: ["blue triangle"]}
//
// Every image is a pure function of (seed, split, index): get() renders it from a
// generator seeded by those three, so workers share no state, train and val
// differ, and image_size() draws the same first two numbers without rendering.
//
// Scenes: min_objects..max_objects shapes of random class, colour and size, drawn
// in order, so later shapes occlude earlier ones. A mask holds the VISIBLE pixels
// of its shape, the box is the mask's bounding box (xyxy, pixel edges), the area
// its pixel count; a shape left with under 30% of its pixels visible is not drawn.
//
// Captions (`caption:`):
//   classes   "circle . square . triangle ." (every class, GroundingDINO style);
//             each box's span covers its class name.
//   referring one sample = one referred object and its expression, e.g.
//             "the red circle", "the large green triangle", "the blue square at
//             the top", "the red circle left of the blue square"; the box's span
//             covers the head phrase "<colour> <class>". Meaning, with "matches"
//             = objects of that colour and class:
//               plain            exactly one object matches;
//               large / small    the referent has the largest (smallest) area of
//                                >= 2 matches, by a factor >= 1.5 over each other;
//               at the top/bottom/left/right   the referent's box centre is the
//                                extreme one of >= 2 matches, ahead of every other
//                                by >= 10% of the image side;
//               left of / right of / above / below the <colour> <class>
//                                the landmark phrase matches exactly one other
//                                object, and exactly one match of the referent's
//                                phrase has its box centre beyond the landmark's
//                                box edge on that side (left of: cx < x1).
//             Every expression is checked against the scene before it is used.
//   none      empty caption.
// Tags: multi-hot over classes followed by colours (tag_names()).
//
// Categories (`categories:`):
//   classes        one category per class (labels index `classes`).
//   color_classes  one category per combination, named "<colour> <class>", in
//                  colour-major order: "red circle", "red square", ..., "green
//                  circle", ...; label = colour index * classes + class index.
//                  caption: classes then lists those names ("red circle . red
//                  square . ..."), each box's span covering its category's name.
// Held-out combinations (`holdout: ["blue triangle", ...]`, each "<colour>
// <class>" of `colors` x `classes`) with `holdout_mode:`
//   exclude  (default) they are never drawn;
//   only     every drawn object is one of them;
//   all      the list is ignored.
// With a restriction in force each object draws its (class, colour) pair from
// the allowed combinations in one draw (colour-major order, whatever the order
// of the list), so no rejection loop; without one, class and colour are drawn
// apart, as they always were (the same images bit for bit).
// The category table always names every category, and so does the classes
// caption unless `caption_names: drawable`, which lists only the categories
// that can occur: training captions that never name a held-out combination
// (with `all` the held-out names are in every caption, with no box: trained as
// negatives). Keep validation at `all`: the model scores per category only a
// caption that is the full category prompt.
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"

namespace seer {

struct SyntheticOptions {
  int64_t num_images = 200;
  uint64_t seed = 0;
  std::string split = "train";
  int64_t min_size = 160, max_size = 320;  // image sides
  int64_t min_objects = 1, max_objects = 5;
  std::vector<std::string> classes{"circle", "square", "triangle"};
  std::vector<std::string> colors{"red", "green", "blue", "yellow", "purple", "orange"};
  std::string caption = "classes";  // classes | referring | none
  bool with_masks = true;
  std::string categories = "classes";  // classes | color_classes
  std::vector<std::string> holdout;    // "<colour> <class>" combinations
  std::string holdout_mode = "exclude";  // exclude | only | all
  std::string caption_names = "all";     // all | drawable (caption: classes)
};

// One drawn object of a scene (all of them, also in referring mode).
struct SyntheticObject {
  int64_t cls = 0;    // index into classes
  int64_t color = 0;  // index into colors
  std::array<float, 4> box{};  // xyxy of the visible pixels
  int64_t area = 0;             // visible pixels
};

// Shape and colour names the generator can draw.
const std::vector<std::string>& synthetic_shape_names();
const std::vector<std::string>& synthetic_color_names();

// The (class, colour) indices of a holdout entry "<colour> <class>" over these
// lists; throws ConfigError with the reason when it names no such combination.
std::pair<int64_t, int64_t> parse_synthetic_combination(const std::string& entry,
                                                        const std::vector<std::string>& classes,
                                                        const std::vector<std::string>& colors);

class SyntheticDataset : public Dataset {
 public:
  explicit SyntheticDataset(SyntheticOptions options);
  int64_t size() const override { return options_.num_images; }
  Sample get(int64_t index) const override;
  std::array<int64_t, 2> image_size(int64_t index) const override;
  const CategoryTable& categories() const override { return categories_; }
  std::string describe() const override;

  // Every object drawn in image `index`, in drawing order (for tests and demos).
  std::vector<SyntheticObject> scene(int64_t index) const;
  // classes then colours: the vocabulary of Target::tags.
  const std::vector<std::string>& tag_names() const { return tag_names_; }
  // The category (label) of a drawn object under options().categories.
  int64_t category_of(const SyntheticObject& o) const;
  // The (class, colour) pairs objects are drawn from, colour-major; empty when
  // every combination is allowed.
  const std::vector<std::pair<int64_t, int64_t>>& allowed_combinations() const { return allowed_; }
  const SyntheticOptions& options() const { return options_; }

 private:
  struct Rendered;
  Rendered render(int64_t index) const;
  uint64_t image_seed(int64_t index) const;

  SyntheticOptions options_;
  CategoryTable categories_;
  std::vector<std::string> tag_names_;
  std::vector<int> shape_ids_;                 // per class: index into synthetic_shape_names()
  std::vector<std::array<uint8_t, 3>> rgb_;    // per colour
  std::vector<std::pair<int64_t, int64_t>> allowed_;  // (class, colour); empty: all
  std::vector<bool> drawable_;                        // per category: can an object have it?
};

}  // namespace seer
