// The ODVG jsonl reader, on the shared odvg_derived files (read in place) and on
// broken files written here. Expected values computed with /usr/bin/python3.
#include <gtest/gtest.h>

#include "data/odvg.h"
#include "reader_test_util.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_odvg {
namespace {

using test::build_dataset;
using test::data_error_of;
using test::write_text;

const char* kOd = "grounding/odvg_derived/coco_tiny_train2017_od.odvg.jsonl";
const char* kVg = "grounding/odvg_derived/refcocos_present_vg.odvg.jsonl";
const char* kLabelMap = "grounding/odvg_derived/coco2017_label_map.json";

std::string span_text(const Target& t, int64_t box, size_t k = 0) {
  const Span& s = t.tokens_positive.at(box).at(k);
  return t.caption.substr(s.begin, s.end - s.begin);
}

TEST(OdvgDataset, DetectionRecordsWithLabelMap) {
  SEER_REQUIRE_DATA(ann, kOd);
  SEER_REQUIRE_DATA(img, "coco/coco_tiny160/train2017/000000262145.jpg");
  auto ds = build_dataset(std::string("type: odvg\nann_file: ") + kOd + "\nlabel_map: " + kLabelMap +
                              "\nimg_dir: coco/coco_tiny160/train2017\n",
                          OnError::Fail, test::data_dir());
  EXPECT_EQ(ds->size(), 80);
  EXPECT_EQ(ds->skipped_records(), 0);
  const CategoryTable& cats = ds->categories();
  ASSERT_EQ(cats.size(), 80);
  EXPECT_EQ(cats.ids[25], 25);
  EXPECT_EQ(cats.names[25], "umbrella");
  EXPECT_EQ(cats.names[79], "toothbrush");
  EXPECT_EQ(ds->image_size(0), (std::array<int64_t, 2>{427, 640}));

  // line 1: 000000262145.jpg, 32 boxes of person (0), umbrella (25), carrot (51)
  Sample s = ds->get(0);
  const Target& t = s.target;
  EXPECT_EQ(t.caption, "person . umbrella . carrot .");
  ASSERT_EQ(t.num_boxes(), 32);
  ASSERT_EQ(t.tokens_positive.size(), 32u);
  // first instance: bbox [212.6, 55.62, 265.64, 109.08], label 25 "umbrella"
  EXPECT_TRUE(torch::allclose(t.boxes[0], torch::tensor({212.6f, 55.62f, 265.64f, 109.08f})));
  EXPECT_EQ(t.labels[0].item<int64_t>(), 25);
  EXPECT_EQ(span_text(t, 0), "umbrella");
  for (int64_t b = 0; b < t.num_boxes(); ++b)
    EXPECT_EQ(span_text(t, b), cats.names[t.labels[b].item<int64_t>()]) << b;
  EXPECT_EQ(s.image.rows, 427);

  int64_t total = 0;
  for (int64_t i = 0; i < ds->size(); ++i) total += ds->get(i).target.num_boxes();
  EXPECT_EQ(total, 705);
}

TEST(OdvgDataset, DetectionWithoutLabelMapDerivesCategories) {
  SEER_REQUIRE_DATA(ann, kOd);
  auto ds = build_dataset(std::string("type: odvg\nann_file: ") + ann + "\n");
  // only the categories that occur, keyed by their label-map id
  const CategoryTable& cats = ds->categories();
  ASSERT_GT(cats.size(), 0);
  EXPECT_EQ(cats.ids[0], 0);
  EXPECT_EQ(cats.names[0], "person");
  EXPECT_EQ(cats.names[cats.index_of(25)], "umbrella");
}

TEST(OdvgDataset, GroundingRecords) {
  SEER_REQUIRE_DATA(ann, kVg);
  auto ds = build_dataset(std::string("type: odvg\nann_file: ") + ann + "\n");
  EXPECT_EQ(ds->size(), 28);
  EXPECT_EQ(ds->categories().size(), 0);
  EXPECT_EQ(ds->image_size(1), (std::array<int64_t, 2>{640, 425}));
  EXPECT_CONTAINS(ds->describe(), "28 grounding records");
  // The images of this file are named under folders that the shared data does
  // not have (coco/COCO_Tiny_zzowenzz/...): get() must say which line and file.
  std::string msg = data_error_of([&] { ds->get(1); });
  EXPECT_CONTAINS(msg, std::string(ann) + ":2: ");
  EXPECT_CONTAINS(msg, "000000338304.jpg");
}

TEST(OdvgDataset, GroundingSpansFromPhrasesOrGivenTokens) {
  SEER_REQUIRE_DATA(img, "coco/coco_tiny160/val2017/000000338304.jpg");
  std::string dir = test::temp_dir("odvg_vg");
  // region 0: phrase found in the caption; region 1: explicit tokens_positive;
  // region 2: same phrase as region 0 -> same label; region 3: box leaves the image.
  write_text(dir + "/vg.jsonl",
             R"({"filename": "000000338304.jpg", "height": 640, "width": 425, "grounding": {"caption": "a man with a green bag next to a man", "regions": [)"
             R"({"bbox": [0.42, 298.6, 101.52, 488.25], "phrase": "a green bag"},)"
             R"({"bbox": [10, 20, 30, 40], "phrase": "man", "tokens_positive": [[2, 5], [33, 36]]},)"
             R"({"bbox": [1, 2, 3, 4], "phrase": "a green bag"},)"
             R"({"bbox": [500, 2, 600, 4], "phrase": "man"}]}})"
             "\n\n");
  auto ds = build_dataset("type: odvg\nann_file: " + dir + "/vg.jsonl\nimg_dir: " + test::data_dir() +
                          "/coco/coco_tiny160/val2017\n");
  ASSERT_EQ(ds->size(), 1);
  Sample s = ds->get(0);
  const Target& t = s.target;
  EXPECT_EQ(t.caption, "a man with a green bag next to a man");
  ASSERT_EQ(t.num_boxes(), 3);  // the last box is outside the 425-wide image
  EXPECT_EQ(span_text(t, 0), "a green bag");
  ASSERT_EQ(t.tokens_positive[1].size(), 2u);
  EXPECT_EQ(span_text(t, 1, 0), "man");
  EXPECT_EQ(span_text(t, 1, 1), "man");
  EXPECT_EQ(t.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(t.labels[1].item<int64_t>(), 1);
  EXPECT_EQ(t.labels[2].item<int64_t>(), 0);
  EXPECT_NEAR(t.boxes[0][3].item<float>(), 488.25, 1e-3);
}

TEST(OdvgDataset, BrokenLinesSkipOrFail) {
  std::string dir = test::temp_dir("odvg_broken");
  std::string file = dir + "/broken.jsonl";
  write_text(file,
             R"({"filename": "a.jpg", "height": 10, "width": 10, "grounding": {"caption": "a cat", "regions": [{"bbox": [1, 1, 5, 5], "phrase": "cat"}]}})"
             "\n"
             R"({"filename": "b.jpg", "grounding": {"caption": "a cat", "regions": [}})"
             "\n"
             R"({"filename": "c.jpg", "grounding": {"caption": "a cat", "regions": [{"bbox": [5, 1, 1, 5], "phrase": "cat"}]}})"
             "\n"
             R"({"filename": "d.jpg", "grounding": {"caption": "a cat", "regions": [{"bbox": [1, 1, 5, 5], "phrase": "dog"}]}})"
             "\n"
             R"({"filename": "e.jpg", "grounding": {"caption": "", "regions": []}})"
             "\n");
  auto ds = build_dataset("type: odvg\nann_file: " + file + "\n", OnError::Skip);
  EXPECT_EQ(ds->size(), 1);
  EXPECT_EQ(ds->skipped_records(), 4);
  std::string msg = data_error_of([&] { build_dataset("type: odvg\nann_file: " + file + "\n", OnError::Fail); });
  EXPECT_CONTAINS(msg, file + ":2: malformed json");

  write_text(file, R"({"filename": "c.jpg", "grounding": {"caption": "a cat", "regions": [{"bbox": [5, 1, 1, 5], "phrase": "cat"}]}})");
  msg = data_error_of([&] { build_dataset("type: odvg\nann_file: " + file + "\n", OnError::Fail); });
  EXPECT_CONTAINS(msg, file + ":1: region #0: bbox has negative width");

  write_text(file, R"({"filename": "d.jpg", "grounding": {"caption": "a cat", "regions": [{"bbox": [1, 1, 5, 5], "phrase": "dog"}]}})");
  msg = data_error_of([&] { build_dataset("type: odvg\nann_file: " + file + "\n", OnError::Fail); });
  EXPECT_CONTAINS(msg, "phrase 'dog' does not occur in the caption");

  // a detection label outside the label map
  write_text(dir + "/lm.json", R"({"0": "cat"})");
  write_text(file, R"({"filename": "x.jpg", "detection": {"instances": [{"bbox": [1, 1, 5, 5], "label": 3, "category": "dog"}]}})");
  msg = data_error_of(
      [&] { build_dataset("type: odvg\nann_file: " + file + "\nlabel_map: " + dir + "/lm.json\n", OnError::Fail); });
  EXPECT_CONTAINS(msg, file + ":1: instance #0: label 3 is not in the label map");

  // missing image: a DataError from get() naming file:line
  write_text(file, R"({"filename": "nowhere.jpg", "detection": {"instances": [{"bbox": [1, 1, 5, 5], "label": 0}]}})");
  ds = build_dataset("type: odvg\nann_file: " + file + "\nlabel_map: " + dir + "/lm.json\nimg_dir: " + dir + "\n");
  msg = data_error_of([&] { ds->get(0); });
  EXPECT_CONTAINS(msg, file + ":1: ");
  EXPECT_CONTAINS(msg, "nowhere.jpg");

  msg = data_error_of([&] { build_dataset("type: odvg\nann_file: " + dir + "/absent.jsonl\n"); });
  EXPECT_CONTAINS(msg, dir + "/absent.jsonl");
}

}  // namespace
}  // namespace seer_test_test_odvg
}  // namespace seer
