// The RefCOCO reader, on the shared refcoco_mini (refs(unc).p + instances.json,
// read in place) and on broken copies built here. Expected values computed with
// /usr/bin/python3 (pickle + json).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "data/refcoco.h"
#include "reader_test_util.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_refcoco {
namespace {

using test::build_dataset;
using test::data_error_of;
using test::write_text;

const char* kRefs = "grounding/refcoco_mini/refcoco/refs(unc).p";

std::string refcoco_yaml(const std::string& data_dir, const std::string& split, const std::string& extra = "") {
  return "type: refcoco\ndata_dir: " + data_dir + "\ndataset: refcoco\nsplit: " + split + "\n" + extra;
}

TEST(RefCocoDataset, ReadsMiniSplits) {
  SEER_REQUIRE_DATA(refs, kRefs);
  std::string root = test::data_dir();
  const std::vector<std::pair<std::string, int64_t>> splits = {{"train", 5}, {"val", 5}, {"testA", 5}, {"testB", 0}};
  for (const auto& [split, n] : splits) {
    auto ds = build_dataset(refcoco_yaml("grounding/refcoco_mini", split, "img_dir: ''\n"), OnError::Fail, root);
    EXPECT_EQ(ds->size(), n) << split;
    EXPECT_EQ(ds->skipped_records(), 0);
  }
  auto ds = build_dataset(refcoco_yaml("grounding/refcoco_mini", "train"), OnError::Fail, root);
  EXPECT_EQ(ds->categories().size(), 80);
  auto& rc = static_cast<RefCocoDataset&>(*ds);
  EXPECT_EQ(rc.ref_id(0), 2);
  EXPECT_EQ(rc.ref_id(4), 14);
  EXPECT_EQ(ds->image_size(1), (std::array<int64_t, 2>{640, 480}));
}

TEST(RefCocoDataset, SampleHasTheReferredBoxAndSentence) {
  SEER_REQUIRE_DATA(refs, kRefs);
  SEER_REQUIRE_DATA(img, "coco/coco_tiny160/val2017/000000338304.jpg");
  // img_dir = data root: each image's `folder` ("coco/coco_tiny160/val2017") is relative to it
  auto ds = build_dataset(refcoco_yaml(test::data_dir() + "/grounding/refcoco_mini", "train",
                                       "img_dir: " + test::data_dir() + "\nwith_masks: true\n"));
  // train ref 0: ref_id 2, image 338304, ann bbox [0.42, 298.6, 101.1, 189.65], category 1 (person)
  Sample s = ds->get(0);
  const Target& t = s.target;
  EXPECT_EQ(t.caption, "the person who is holding a camera and carrying a green bag");
  ASSERT_EQ(t.num_boxes(), 1);
  EXPECT_TRUE(torch::allclose(t.boxes[0], torch::tensor({0.42f, 298.6f, 101.52f, 488.25f})));
  EXPECT_EQ(t.labels[0].item<int64_t>(), 0);
  ASSERT_EQ(t.tokens_positive.size(), 1u);
  EXPECT_EQ(t.tokens_positive[0][0], (Span{0, static_cast<int64_t>(t.caption.size())}));
  EXPECT_EQ(t.image_id, 338304);
  EXPECT_EQ(t.orig_size, (std::array<int64_t, 2>{640, 425}));
  EXPECT_NEAR(t.area[0].item<float>(), 7794.92, 1e-2);
  ASSERT_TRUE(t.masks.defined());
  EXPECT_EQ(t.masks.sizes(), (std::vector<int64_t>{1, 640, 425}));
  EXPECT_NEAR(t.masks.sum().item<int64_t>(), 7794.92, 0.03 * 7794.92);
  EXPECT_CONTAINS(t.file_name, "coco/coco_tiny160/val2017/000000338304.jpg");

  // train ref 4: ref_id 14, image 520707, bbox [99.31, 179.82, 102.86, 234.09]
  Sample s4 = ds->get(4);
  EXPECT_EQ(s4.target.caption, "the person wearing a red top carrying a handbag");
  EXPECT_TRUE(torch::allclose(s4.target.boxes[0], torch::tensor({99.31f, 179.82f, 202.17f, 413.91f})));
}

// Copy the mini set's refs with an edited instances.json into a temp dir.
std::string broken_copy(const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
  std::string dir = test::temp_dir(name);
  std::filesystem::create_directories(dir + "/refcoco");
  std::filesystem::copy_file(test::data_file(kRefs), dir + "/refcoco/refs(unc).p");
  std::ifstream in(test::data_file("grounding/refcoco_mini/refcoco/instances.json"));
  nlohmann::json j = nlohmann::json::parse(in);
  edit(j);
  write_text(dir + "/refcoco/instances.json", j.dump());
  return dir;
}

TEST(RefCocoDataset, BrokenRecordsSkipOrFail) {
  SEER_REQUIRE_DATA(refs, kRefs);
  // train ref_id 14 points at annotation 1756536: give it a negative width
  std::string dir = broken_copy("refcoco_broken", [](nlohmann::json& j) {
    for (auto& a : j["annotations"])
      if (a["id"] == 1756536) a["bbox"][2] = -1.0;
  });
  auto ds = build_dataset(refcoco_yaml(dir, "train"), OnError::Skip);
  EXPECT_EQ(ds->size(), 4);
  EXPECT_EQ(ds->skipped_records(), 1);
  std::string msg = data_error_of([&] { build_dataset(refcoco_yaml(dir, "train"), OnError::Fail); });
  EXPECT_CONTAINS(msg, "refs(unc).p: ref #14 (ref_id 14): annotation 1756536: bbox has negative width");
  // other splits do not see it
  EXPECT_EQ(build_dataset(refcoco_yaml(dir, "val"), OnError::Fail)->size(), 5);

  // an image that instances.json does not list
  dir = broken_copy("refcoco_noimage", [](nlohmann::json& j) {
    auto& ims = j["images"];
    for (auto it = ims.begin(); it != ims.end(); ++it)
      if ((*it)["id"] == 338304) {
        ims.erase(it);
        break;
      }
  });
  ds = build_dataset(refcoco_yaml(dir, "train"), OnError::Skip);
  EXPECT_EQ(ds->size(), 4);
  EXPECT_EQ(ds->skipped_records(), 1);
  msg = data_error_of([&] { build_dataset(refcoco_yaml(dir, "train"), OnError::Fail); });
  EXPECT_CONTAINS(msg, "refs(unc).p: ref #2 (ref_id 2): unknown image id 338304");

  // missing image file: DataError from get()
  ds = build_dataset(refcoco_yaml(dir, "train", "img_dir: " + dir + "\n"), OnError::Skip);
  msg = data_error_of([&] { ds->get(0); });
  EXPECT_CONTAINS(msg, "refs(unc).p: ref #");
  EXPECT_CONTAINS(msg, "not found");

  // no such split_by file
  msg = data_error_of([&] { build_dataset(refcoco_yaml(dir, "train", "split_by: google\n")); });
  EXPECT_CONTAINS(msg, "refs(google).p");
}

TEST(RefCocoDataset, ConfigValidatesNames) {
  EXPECT_THROW(build_dataset("type: refcoco\ndata_dir: x\ndataset: refcocoz\n"), ConfigError);
  EXPECT_THROW(build_dataset("type: refcoco\ndata_dir: x\nsplit: testC\n"), ConfigError);
}

}  // namespace
}  // namespace seer_test_test_refcoco
}  // namespace seer
