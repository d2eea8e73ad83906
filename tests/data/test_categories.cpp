// Category tables without a dataset (data/categories.h): the built-in COCO
// table equals the categories of a real COCO 2017 annotation file; names files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.h"
#include "data/categories.h"
#include "test_util.h"
namespace seer_test_test_categories {

using namespace seer;

namespace {

TEST(Categories, BuiltInCocoEqualsTheCocoAnnotationFile) {
  SEER_REQUIRE_DATA(ann, "coco/coco_tiny160/annotations/instances_val2017.json");
  std::ifstream f(ann);
  auto j = nlohmann::json::parse(f);
  auto coco = coco_categories();
  ASSERT_EQ(coco.size(), static_cast<int64_t>(j["categories"].size()));
  for (size_t i = 0; i < j["categories"].size(); ++i) {
    EXPECT_EQ(coco.ids[i], j["categories"][i]["id"].get<int64_t>());
    EXPECT_EQ(coco.names[i], j["categories"][i]["name"].get<std::string>());
  }
  EXPECT_EQ(coco.index_of(90), 79);
  EXPECT_EQ(coco.index_of(12), -1);
}

TEST(Categories, NamesFiles) {
  const auto dir = test::temp_dir("categories");
  {
    std::ofstream f(dir + "/plain.names");
    f << "cat\n\n  red panda \n";
  }
  auto t = named_categories("plain.names", dir);
  EXPECT_EQ(t.ids, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(t.names, (std::vector<std::string>{"cat", "red panda"}));
  {
    std::ofstream f(dir + "/ids.names");
    f << "3 traffic light\n7\tdog\n";
  }
  t = named_categories(dir + "/ids.names", "");
  EXPECT_EQ(t.ids, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(t.names, (std::vector<std::string>{"traffic light", "dog"}));
  EXPECT_EQ(named_categories("coco", dir).size(), 80);
  EXPECT_EQ(named_categories("", dir).size(), 0);
  {
    std::ofstream f(dir + "/dup.names");
    f << "1 a\n1 b\n";
  }
  try {
    named_categories("dup.names", dir);
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("dup.names:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(named_categories("missing.names", dir), DataError);
}

}  // namespace

}  // namespace seer_test_test_categories
