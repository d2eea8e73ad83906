// The COCO instances reader, on the shared coco_tiny160 subset (read in place)
// and on broken files written here. Expected values were computed with
// /usr/bin/python3 (json) following DETR's ConvertCocoPolysToMask.
#include <gtest/gtest.h>

#include "data/coco.h"
#include "ops/coco_mask.h"
#include "reader_test_util.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_coco {
namespace {

using test::build_dataset;
using test::data_error_of;
using test::write_text;

const char* kVal = "coco/coco_tiny160/annotations/instances_val2017.json";

std::string coco_yaml(const std::string& ann, const std::string& img_dir, bool masks = false, bool filter = false) {
  return "type: coco\nann_file: " + ann + "\nimg_dir: " + img_dir + "\nwith_masks: " + (masks ? "true" : "false") +
         "\nfilter_empty: " + (filter ? "true" : "false") + "\n";
}

TEST(CocoDataset, ReadsTinyVal) {
  SEER_REQUIRE_DATA(ann, kVal);
  // relative paths resolve against data.root
  auto ds = build_dataset(coco_yaml(kVal, "coco/coco_tiny160/val2017"), OnError::Fail, test::data_dir());
  EXPECT_EQ(ds->size(), 80);
  EXPECT_EQ(ds->skipped_records(), 0);
  const CategoryTable& cats = ds->categories();
  ASSERT_EQ(cats.size(), 80);
  EXPECT_EQ(cats.ids[0], 1);
  EXPECT_EQ(cats.names[0], "person");
  EXPECT_EQ(cats.ids[11], 13);  // COCO ids have gaps: 12 is unused
  EXPECT_EQ(cats.names[11], "stop sign");
  EXPECT_EQ(cats.index_of(90), 79);
  EXPECT_EQ(cats.names[79], "toothbrush");
  EXPECT_CONTAINS(ds->describe(), "instances_val2017.json");

  // images come in ascending id order (torchvision CocoDetection)
  Sample s = ds->get(0);
  const Target& t = s.target;
  EXPECT_EQ(t.image_id, 5001);
  EXPECT_EQ(ds->image_size(0), (std::array<int64_t, 2>{480, 640}));
  EXPECT_EQ(s.image.rows, 480);
  EXPECT_EQ(s.image.cols, 640);
  EXPECT_EQ(s.image.channels(), 3);
  EXPECT_EQ(t.orig_size, (std::array<int64_t, 2>{480, 640}));
  ASSERT_EQ(t.num_boxes(), 18);
  // annotation 1158531: bbox [173.66, 204.76, 107.87, 238.39], category 88 (teddy bear)
  auto b = t.boxes[0];
  EXPECT_NEAR(b[0].item<float>(), 173.66, 1e-3);
  EXPECT_NEAR(b[1].item<float>(), 204.76, 1e-3);
  EXPECT_NEAR(b[2].item<float>(), 281.53, 1e-3);
  EXPECT_NEAR(b[3].item<float>(), 443.15, 1e-3);
  EXPECT_EQ(t.labels[0].item<int64_t>(), 76);
  EXPECT_EQ(t.labels[1].item<int64_t>(), 0);
  EXPECT_NEAR(t.area[0].item<float>(), 5645.9725, 1e-2);
  EXPECT_EQ(t.iscrowd.sum().item<int64_t>(), 1);  // one crowd region in image 5001
  EXPECT_FALSE(t.masks.defined());
  EXPECT_EQ(t.boxes.dtype(), torch::kFloat32);
  EXPECT_EQ(t.labels.dtype(), torch::kInt64);

  // every annotation survives (none is degenerate); crowd boxes are kept
  int64_t total = 0, crowd = 0;
  for (int64_t i = 0; i < ds->size(); ++i) {
    Sample si = ds->get(i);
    total += si.target.num_boxes();
    crowd += si.target.iscrowd.sum().item<int64_t>();
  }
  EXPECT_EQ(total, 815);
  EXPECT_EQ(crowd, 11);
}

TEST(CocoDataset, DecodesPolygonAndRleMasks) {
  SEER_REQUIRE_DATA(ann, kVal);
  auto ds = build_dataset(coco_yaml(ann, test::data_dir() + "/coco/coco_tiny160/val2017", true));
  // image 184324 (index 23): its crowd annotation 900100184324 (kept box #31) is an
  // uncompressed RLE of 425x640 whose foreground runs sum to 32885 pixels
  Sample s = ds->get(23);
  ASSERT_EQ(s.target.image_id, 184324);
  ASSERT_TRUE(s.target.masks.defined());
  EXPECT_EQ(s.target.masks.sizes(), (std::vector<int64_t>{s.target.num_boxes(), 425, 640}));
  EXPECT_EQ(s.target.iscrowd[31].item<int64_t>(), 1);
  EXPECT_EQ(s.target.masks[31].sum().item<int64_t>(), 32885);
  // image 5001: annotation 1328232 (box #10) is two polygons of area 37003.43
  Sample p = ds->get(0);
  double px = p.target.masks[10].sum().item<int64_t>();
  EXPECT_NEAR(px, 37003.43, 0.02 * 37003.43);
  // the mask lies inside its box
  auto box = p.target.boxes[10];
  auto m = p.target.masks[10];
  int64_t x1 = static_cast<int64_t>(box[0].item<float>()), x2 = static_cast<int64_t>(box[2].item<float>()) + 1;
  int64_t y1 = static_cast<int64_t>(box[1].item<float>()), y2 = static_cast<int64_t>(box[3].item<float>()) + 1;
  EXPECT_EQ(m.slice(0, y1, y2).slice(1, x1, x2).sum().item<int64_t>(), m.sum().item<int64_t>());
}

// A one-image json pointing at a real image, for the cases the shared data lacks.
std::string one_image_json(const std::string& annotations, int64_t h = 480, int64_t w = 640) {
  return R"({"images": [{"id": 1, "file_name": "000000005001.jpg", "height": )" + std::to_string(h) +
         R"(, "width": )" + std::to_string(w) + R"(}],
  "categories": [{"id": 7, "name": "train"}, {"id": 3, "name": "car"}],
  "annotations": [)" + annotations + "]}";
}

TEST(CocoDataset, CompressedRleAndClamping) {
  SEER_REQUIRE_DATA(img, "coco/coco_tiny160/val2017/000000005001.jpg");
  std::vector<uint8_t> mask(480 * 640, 0);
  for (int y = 10; y < 20; ++y)
    for (int x = 20; x < 50; ++x) mask[y * 640 + x] = 1;
  std::string counts = rle::to_string(rle::encode(mask.data(), 480, 640));
  nlohmann::json seg = {{"size", {480, 640}}, {"counts", counts}};
  std::string dir = test::temp_dir("coco_rle");
  write_text(dir + "/a.json",
             one_image_json(R"({"id": 5, "image_id": 1, "category_id": 7, "bbox": [20, 10, 30, 10], "iscrowd": 1, "segmentation": )" +
                            seg.dump() + R"(},
      {"id": 6, "image_id": 1, "category_id": 3, "bbox": [600, -5, 100, 20], "segmentation": [[600, 0, 640, 0, 640, 15]]},
      {"id": 7, "image_id": 1, "category_id": 3, "bbox": [700, 10, 5, 5]})"));
  auto ds = build_dataset(coco_yaml(dir + "/a.json", test::data_dir() + "/coco/coco_tiny160/val2017", true));
  EXPECT_EQ(ds->categories().ids, (std::vector<int64_t>{3, 7}));
  Sample s = ds->get(0);
  const Target& t = s.target;
  // annotation 7 lies right of the image: clamped to zero width and dropped
  ASSERT_EQ(t.num_boxes(), 2);
  EXPECT_EQ(t.labels[0].item<int64_t>(), 1);
  EXPECT_EQ(t.iscrowd[0].item<int64_t>(), 1);
  EXPECT_EQ(t.masks[0].sum().item<int64_t>(), 300);
  EXPECT_EQ(t.masks[0][15][30].item<int64_t>(), 1);
  EXPECT_EQ(t.masks[0][9][30].item<int64_t>(), 0);
  // annotation 6: [600, -5, 700, 15] clamped to [600, 0, 640, 15]
  EXPECT_TRUE(torch::allclose(t.boxes[1], torch::tensor({600.f, 0.f, 640.f, 15.f})));
  EXPECT_GT(t.masks[1].sum().item<int64_t>(), 0);
}

TEST(CocoDataset, FilterEmptyDropsImagesWithOnlyCrowdBoxes) {
  std::string dir = test::temp_dir("coco_filter");
  write_text(dir + "/a.json", R"({"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10},
    {"id": 2, "file_name": "b.jpg", "height": 10, "width": 10}, {"id": 3, "file_name": "c.jpg", "height": 10, "width": 10}],
    "categories": [{"id": 1, "name": "x"}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 1},
                    {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2]}]})");
  EXPECT_EQ(build_dataset(coco_yaml(dir + "/a.json", dir))->size(), 3);
  auto kept = build_dataset(coco_yaml(dir + "/a.json", dir, false, true));
  ASSERT_EQ(kept->size(), 1);
  EXPECT_EQ(static_cast<CocoDataset&>(*kept).image_id(0), 2);
}

TEST(CocoDataset, BrokenRecordsSkipOrFail) {
  std::string dir = test::temp_dir("coco_broken");
  std::string file = dir + "/instances_broken.json";
  write_text(file, one_image_json(R"({"id": 10, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3, 4]},
      {"id": 11, "image_id": 999, "category_id": 7, "bbox": [1, 2, 3, 4]},
      {"id": 12, "image_id": 1, "category_id": 7, "bbox": [1, 2, -3, 4]},
      {"id": 13, "image_id": 1, "category_id": 42, "bbox": [1, 2, 3, 4]},
      {"id": 14, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3]})"));
  auto ds = build_dataset(coco_yaml(file, dir), OnError::Skip);
  EXPECT_EQ(ds->size(), 1);
  EXPECT_EQ(ds->skipped_records(), 4);

  std::string msg = data_error_of([&] { build_dataset(coco_yaml(file, dir), OnError::Fail); });
  EXPECT_CONTAINS(msg, "instances_broken.json: annotation #1 (id 11): unknown image id 999");

  write_text(file, one_image_json(R"({"id": 12345, "image_id": 1, "category_id": 7, "bbox": [1, 2, -3, 4]})"));
  msg = data_error_of([&] { build_dataset(coco_yaml(file, dir), OnError::Fail); });
  EXPECT_CONTAINS(msg, "instances_broken.json: annotation #0 (id 12345): bbox has negative width");

  write_text(file, one_image_json(R"({"id": 8, "image_id": 1, "category_id": 42, "bbox": [1, 2, 3, 4]})"));
  msg = data_error_of([&] { build_dataset(coco_yaml(file, dir), OnError::Fail); });
  EXPECT_CONTAINS(msg, "annotation #0 (id 8): unknown category id 42");
}

TEST(CocoDataset, MissingImageIsADataErrorFromGet) {
  std::string dir = test::temp_dir("coco_missing_img");
  std::string file = dir + "/instances.json";
  write_text(file, one_image_json(R"({"id": 10, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3, 4]})"));
  for (OnError mode : {OnError::Skip, OnError::Fail}) {
    auto ds = build_dataset(coco_yaml(file, dir), mode);  // images are only opened in get()
    ASSERT_EQ(ds->size(), 1);
    std::string msg = data_error_of([&] { ds->get(0); });
    EXPECT_CONTAINS(msg, "instances.json: image #0 (id 1)");
    EXPECT_CONTAINS(msg, "000000005001.jpg");
    EXPECT_CONTAINS(msg, "not found");
  }
}

TEST(CocoDataset, MissingOrMalformedFileIsAlwaysFatal) {
  std::string dir = test::temp_dir("coco_malformed");
  std::string file = dir + "/bad.json";
  write_text(file, "{\"images\": [ {\"id\": 1,, } ]");
  for (OnError mode : {OnError::Skip, OnError::Fail}) {
    std::string msg = data_error_of([&] { build_dataset(coco_yaml(file, dir), mode); });
    EXPECT_CONTAINS(msg, file);
    EXPECT_CONTAINS(msg, "malformed json");
    EXPECT_CONTAINS(msg, "line 1");  // the parser's position
    msg = data_error_of([&] { build_dataset(coco_yaml(dir + "/absent.json", dir), mode); });
    EXPECT_CONTAINS(msg, dir + "/absent.json");
    EXPECT_CONTAINS(msg, "not found");
  }
  write_text(file, "[1, 2]");
  EXPECT_CONTAINS(data_error_of([&] { build_dataset(coco_yaml(file, dir)); }), "not a COCO instances json");
}

TEST(CocoDataset, ConfigNeedsAnnFile) {
  EXPECT_THROW(build_dataset("type: coco\nimg_dir: x\n"), ConfigError);
}

}  // namespace
}  // namespace seer_test_test_coco
}  // namespace seer
