// The RLE mask API against pycocotools' answers (tests/data/eval/rle_cases.json,
// written by scripts/fixtures/make_coco_eval_fixtures.py).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "ops/coco_mask.h"
#include "test_util.h"
namespace seer_test_test_coco_mask {

using namespace seer;
using nlohmann::json;

namespace {

json load_cases() {
  std::ifstream f(test::fixture("eval/rle_cases.json"));
  EXPECT_TRUE(f.good()) << "missing fixture eval/rle_cases.json";
  return json::parse(f);
}

}  // namespace

TEST(CocoMask, EncodeDecodeRoundTripAndString) {
  // 3x2 mask, rows (0,1) (1,0) (1,1): columns (0,1,1) then (1,0,1) give runs 0:1, 1:3, 0:1, 1:1.
  const uint8_t m[6] = {0, 1, 1, 0, 1, 1};
  auto r = rle::encode(m, 3, 2);
  EXPECT_EQ(r.counts, (std::vector<uint32_t>{1, 3, 1, 1}));
  EXPECT_EQ(rle::decode(r), std::vector<uint8_t>(m, m + 6));
  EXPECT_EQ(rle::area(r), 4u);
  auto s = rle::to_string(r);
  EXPECT_EQ(rle::from_string(s, 3, 2).counts, r.counts);
  // Mask starting with foreground: a leading zero-length background run.
  const uint8_t f[4] = {1, 1, 1, 0};
  EXPECT_EQ(rle::encode(f, 2, 2).counts, (std::vector<uint32_t>{0, 3, 1}));
}

TEST(CocoMask, StringRoundTripLargeAndNegativeDeltas) {
  rle::Rle r{1000, 1000, {123456, 1, 999, 7, 5, 654321, 0, 3}};
  EXPECT_EQ(rle::from_string(rle::to_string(r), 1000, 1000).counts, r.counts);
}

TEST(CocoMask, PolygonsMatchPycocotools) {
  json c = load_cases();
  const int64_t h = c["h"], w = c["w"];
  for (size_t i = 0; i < c["polygons"].size(); ++i) {
    const auto& p = c["polygons"][i];
    auto r = rle::from_polygon(p["xy"].get<std::vector<double>>(), h, w);
    EXPECT_EQ(rle::to_string(r), p["counts"].get<std::string>()) << "polygon " << i;
    EXPECT_EQ(rle::area(r), p["area"].get<uint64_t>()) << "polygon " << i;
    auto bb = rle::to_bbox(r);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(bb[k], p["bbox"][k].get<double>()) << "polygon " << i;
    EXPECT_EQ(rle::from_polygons({p["xy"].get<std::vector<double>>()}, h, w).counts, r.counts);
  }
}

TEST(CocoMask, BoxesMatchPycocotools) {
  json c = load_cases();
  const int64_t h = c["h"], w = c["w"];
  for (size_t i = 0; i < c["boxes"].size(); ++i) {
    const auto& b = c["boxes"][i];
    auto v = b["xywh"].get<std::vector<double>>();
    auto r = rle::from_bbox({v[0], v[1], v[2], v[3]}, h, w);
    EXPECT_EQ(rle::to_string(r), b["counts"].get<std::string>()) << "box " << i;
    EXPECT_EQ(rle::area(r), b["area"].get<uint64_t>()) << "box " << i;
  }
}

TEST(CocoMask, RawMasksMatchPycocotools) {
  json c = load_cases();
  const int64_t h = c["h"], w = c["w"];
  for (size_t i = 0; i < c["masks"].size(); ++i) {
    const auto& m = c["masks"][i];
    std::vector<uint8_t> px;
    for (const auto& row : m["rows"]) for (char ch : row.get<std::string>()) px.push_back(ch == '1');
    auto r = rle::encode(px.data(), h, w);
    EXPECT_EQ(rle::to_string(r), m["counts"].get<std::string>()) << "mask " << i;
    EXPECT_EQ(rle::area(r), m["area"].get<uint64_t>());
    auto bb = rle::to_bbox(r);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(bb[k], m["bbox"][k].get<double>()) << "mask " << i;
    auto back = rle::from_string(m["counts"].get<std::string>(), h, w);
    EXPECT_EQ(rle::decode(back), px);
    EXPECT_EQ(rle::from_counts(back.counts, h, w).counts, r.counts);
  }
}

TEST(CocoMask, MergeMatchesPycocotools) {
  json c = load_cases();
  const int64_t h = c["h"], w = c["w"];
  std::vector<rle::Rle> rles;
  for (const auto& p : c["polygons"]) rles.push_back(rle::from_string(p["counts"].get<std::string>(), h, w));
  EXPECT_EQ(rle::to_string(rle::merge({rles.begin(), rles.begin() + 5}, false)), c["merge_union_0_5"].get<std::string>());
  EXPECT_EQ(rle::to_string(rle::merge({rles.begin(), rles.begin() + 3}, true)), c["merge_inter_0_3"].get<std::string>());
  EXPECT_EQ(rle::to_string(rle::merge({rles.begin() + 1, rles.begin() + 3}, true)), c["merge_inter_1_2"].get<std::string>());
  // Pixelwise check of the union against decode.
  auto u = rle::decode(rle::merge({rles[1], rles[3]}, false));
  auto a = rle::decode(rles[1]), b = rle::decode(rles[3]);
  for (size_t i = 0; i < u.size(); ++i) ASSERT_EQ(u[i], a[i] | b[i]);
  // Sizes that disagree give an empty RLE.
  EXPECT_EQ(rle::merge({rles[1], rle::Rle{3, 3, {9}}}).h, 0);
}

TEST(CocoMask, IouMatchesPycocotools) {
  json c = load_cases();
  const int64_t h = c["h"], w = c["w"];
  std::vector<rle::Rle> rles;
  for (const auto& p : c["polygons"]) rles.push_back(rle::from_string(p["counts"].get<std::string>(), h, w));
  std::vector<rle::Rle> dt(rles.begin(), rles.begin() + 12), gt(rles.begin() + 12, rles.end());
  auto crowd = c["iou_crowd"].get<std::vector<uint8_t>>();
  auto o = rle::iou(dt, gt, crowd);
  for (size_t d = 0; d < 12; ++d)
    for (size_t g = 0; g < 12; ++g) {
      EXPECT_EQ(o[d * 12 + g], c["iou_rle"][d][g].get<double>()) << d << "," << g;
      EXPECT_EQ(rle::iou_one(dt[d], gt[g], crowd[g]), o[d * 12 + g]);
    }
  auto boxes = [](const json& j) {
    std::vector<std::array<double, 4>> v;
    for (const auto& b : j) v.push_back({b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>()});
    return v;
  };
  auto ob = rle::box_iou(boxes(c["iou_box_dt"]), boxes(c["iou_box_gt"]), crowd);
  for (size_t d = 0; d < 12; ++d)
    for (size_t g = 0; g < 12; ++g) EXPECT_EQ(ob[d * 12 + g], c["iou_box"][d][g].get<double>()) << d << "," << g;
  // Different sizes: -1 where the boxes overlap.
  rle::Rle big{h + 1, w, rles[1].counts};
  big.counts.back() += static_cast<uint32_t>(w);
  EXPECT_EQ(rle::iou_one(big, rles[1], false), -1.0);
}

TEST(CocoMask, PolygonListWithFourNumbersIsReadAsBoxes) {
  // pycocotools' frPyObjects treats a first part of length 4 as a box.
  auto r = rle::from_polygons({{1, 1, 3, 2}}, 10, 10);
  EXPECT_EQ(r.counts, rle::from_bbox({1, 1, 3, 2}, 10, 10).counts);
  EXPECT_EQ(rle::area(r), 6u);
}

}  // namespace seer_test_test_coco_mask
