// The RAM-style tagging reader, on the shared recognize-anything benchmark lists
// (read in place) and on small files written here. Expected values computed
// with /usr/bin/python3.
#include <gtest/gtest.h>

#include "data/tagging.h"
#include "reader_test_util.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_tagging {
namespace {

using test::build_dataset;
using test::data_error_of;
using test::write_text;

const char* kOiAnnots = "ram/datasets/openimages_common_214/openimages_common_214_ram_annots.txt";
const char* kOiTags = "ram/datasets/openimages_common_214/openimages_common_214_ram_taglist.txt";
const char* kHicoAnnots = "ram/datasets/hico/hico_600_annots.txt";
const char* kHicoTags = "ram/datasets/hico/hico_600_taglist.txt";

std::string tagging_yaml(const std::string& ann, const std::string& tags, const std::string& img_dir = "") {
  return "type: tagging\nann_file: " + ann + "\ntaglist: " + tags + "\nimg_dir: '" + img_dir + "'\n";
}

TEST(TaggingDataset, OpenImagesTagNames) {
  SEER_REQUIRE_DATA(ann, kOiAnnots);
  auto ds = build_dataset(tagging_yaml(kOiAnnots, kOiTags, "openimages"), OnError::Fail, test::data_dir());
  auto& tg = static_cast<TaggingDataset&>(*ds);
  EXPECT_EQ(ds->size(), 57224);
  EXPECT_EQ(ds->skipped_records(), 0);
  ASSERT_EQ(ds->categories().size(), 214);
  EXPECT_EQ(ds->categories().names[156], "pumpkin");
  EXPECT_EQ(ds->categories().ids[156], 156);
  // line 4: test/00045d609ca3f4eb,pumpkin,halloween
  EXPECT_EQ(tg.tag_ids(3), (std::vector<int64_t>{99, 156}));
  EXPECT_CONTAINS(tg.image_path(3), "openimages/test/00045d609ca3f4eb.jpg");  // image_ext appended
  // line 8: test/000ccf1d00f7f1cd,pet,dog
  EXPECT_EQ(tg.tag_ids(7), (std::vector<int64_t>{65, 143}));
  // line 31 has no tags at all
  EXPECT_TRUE(tg.tag_ids(30).empty());
  EXPECT_CONTAINS(tg.image_path(30), "test/00229645efaf204f.jpg");
}

TEST(TaggingDataset, HicoTagIds) {
  SEER_REQUIRE_DATA(ann, kHicoAnnots);
  auto ds = build_dataset(tagging_yaml(kHicoAnnots, kHicoTags), OnError::Fail, test::data_dir());
  auto& tg = static_cast<TaggingDataset&>(*ds);
  EXPECT_EQ(ds->size(), 9658);
  ASSERT_EQ(ds->categories().size(), 600);
  EXPECT_EQ(ds->categories().names[0], "person board airplane");
  // line 2: HICO_test2015_00000002.jpg,131 139 143 ; line 12: ...,489 493 500
  EXPECT_EQ(tg.tag_ids(1), (std::vector<int64_t>{131, 139, 143}));
  EXPECT_EQ(tg.tag_ids(11), (std::vector<int64_t>{489, 493, 500}));
  EXPECT_CONTAINS(tg.image_path(1), "HICO_test2015_00000002.jpg");
}

TEST(TaggingDataset, MultiHotTargetsFromImages) {
  SEER_REQUIRE_DATA(tags, "ram/ram/data/ram_tag_list.txt");
  SEER_REQUIRE_DATA(img, "ram/images/demo/demo4.jpg");
  std::string dir = test::temp_dir("tagging_demo");
  // names and ids mixed per line; ram_tag_list: dog = 1363, cat = 780
  write_text(dir + "/annots.txt", "demo4,dog,cat\r\n./demo4.jpg,780 1363\n\n");
  auto ds = build_dataset(tagging_yaml(dir + "/annots.txt", tags, test::data_dir() + "/ram/images/demo"));
  ASSERT_EQ(ds->size(), 2);
  ASSERT_EQ(ds->categories().size(), 4585);
  for (int64_t i = 0; i < 2; ++i) {
    Sample s = ds->get(i);
    ASSERT_TRUE(s.target.tags.defined());
    EXPECT_EQ(s.target.tags.sizes(), (std::vector<int64_t>{4585}));
    EXPECT_EQ(s.target.tags.sum().item<float>(), 2.f);
    EXPECT_EQ(s.target.tags[1363].item<float>(), 1.f);
    EXPECT_EQ(s.target.tags[780].item<float>(), 1.f);
    EXPECT_EQ(s.target.num_boxes(), 0);
    EXPECT_EQ(s.image.cols, 428);
    EXPECT_EQ(s.image.rows, 640);
  }
}

TEST(TaggingDataset, BrokenLinesSkipOrFail) {
  std::string dir = test::temp_dir("tagging_broken");
  write_text(dir + "/tags.txt", "cat\ndog\nhot dog\n");
  std::string file = dir + "/annots.txt";
  write_text(file, "a.jpg,cat,hot dog\nb.jpg,cat,unicorn\nc.jpg,0 7\nd.jpg,2\n");
  auto ds = build_dataset(tagging_yaml(file, dir + "/tags.txt", dir), OnError::Skip);
  auto& tg = static_cast<TaggingDataset&>(*ds);
  ASSERT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->skipped_records(), 2);
  EXPECT_EQ(tg.tag_ids(0), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(tg.tag_ids(1), (std::vector<int64_t>{2}));

  std::string msg = data_error_of([&] { build_dataset(tagging_yaml(file, dir + "/tags.txt", dir), OnError::Fail); });
  EXPECT_CONTAINS(msg, file + ":2: unknown tag 'unicorn'");
  write_text(file, "c.jpg,0 7\n");
  msg = data_error_of([&] { build_dataset(tagging_yaml(file, dir + "/tags.txt", dir), OnError::Fail); });
  EXPECT_CONTAINS(msg, file + ":1: tag id 7 is out of range");

  // missing image: DataError from get() naming file:line
  write_text(file, "\nmissing,cat\n");
  ds = build_dataset(tagging_yaml(file, dir + "/tags.txt", dir), OnError::Fail);
  msg = data_error_of([&] { ds->get(0); });
  EXPECT_CONTAINS(msg, file + ":2: ");
  EXPECT_CONTAINS(msg, "missing.jpg");

  msg = data_error_of([&] { build_dataset(tagging_yaml(file, dir + "/absent.txt", dir)); });
  EXPECT_CONTAINS(msg, dir + "/absent.txt");
}

}  // namespace
}  // namespace seer_test_test_tagging
}  // namespace seer
