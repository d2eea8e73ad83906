// seer's focal (sigmoid) DETR postprocess against Deformable-DETR's official
// PostProcess (models/deformable_detr.py), on the fixture written by
// scripts/fixtures/make_focal_postprocess_fixture.py: the same top-100
// (query, class) pairs in the same order, their scores, labels and pixel boxes.
//
// seer restricts the top-k to reportable classes (classes without a category
// never take a slot); the official code has no such notion. The fixture's 7
// classes all get a category here, so the two compute the same thing
// (Q = 30, C = 7: k = min(Q * C, max(Q, 100)) = 100 = the official k).
#include <gtest/gtest.h>

#include "models/detr/detr.h"
#include "models/detr_fixture.h"
#include "pt_fixture.h"
#include "test_util.h"
namespace seer_test_test_detr_focal_postprocess {

namespace {

using namespace seer;

TEST(DetrFocalPostprocess, MatchesDeformableDetrPostProcess) {
  auto f = test::load_tensor_dict(test::fixture("detr/focal_postprocess.pt"));
  const auto logits = f.at("logits"), boxes = f.at("boxes"), sizes = f.at("target_sizes");
  const int64_t B = logits.size(0), C = logits.size(2);
  ASSERT_EQ(C, 7);

  auto o = test::tiny_detr_options(C);
  o.loss.classification = Classification::Focal;
  CategoryTable categories;  // every class reportable: contiguous label c = class c
  for (int64_t c = 0; c < C; ++c) categories.add(c + 1, "class" + std::to_string(c));
  auto model = std::make_shared<Detr>(o, categories);
  model->eval();

  std::vector<std::array<int64_t, 2>> orig_sizes;
  for (int64_t i = 0; i < B; ++i) orig_sizes.push_back({sizes[i][0].item<int64_t>(), sizes[i][1].item<int64_t>()});
  const auto preds = model->postprocess(logits, boxes, orig_sizes);
  ASSERT_EQ(static_cast<int64_t>(preds.size()), B);

  for (int64_t i = 0; i < B; ++i) {
    const auto n = std::to_string(i);
    const auto& scores = f.at("scores" + n);
    const auto& labels = f.at("labels" + n);
    const auto& xyxy = f.at("boxes" + n);
    ASSERT_EQ(scores.size(0), 100);
    // shapes first, compared as they are (no reshape to the expected shape)
    ASSERT_EQ(preds[i].scores.sizes(), scores.sizes()) << "image " << i;
    ASSERT_EQ(preds[i].labels.sizes(), labels.sizes()) << "image " << i;
    ASSERT_EQ(preds[i].boxes.sizes(), xyxy.sizes()) << "image " << i;
    // the same pairs in the same order: labels exactly, scores and boxes to float rounding
    EXPECT_TRUE(torch::equal(preds[i].labels.to(torch::kLong), labels))
        << "image " << i << "\nseer " << preds[i].labels.slice(0, 0, 10) << "\nofficial " << labels.slice(0, 0, 10);
    EXPECT_LE((preds[i].scores - scores).abs().max().item<double>(), 1e-6) << "image " << i;
    EXPECT_LE((preds[i].boxes - xyxy).abs().max().item<double>(), 1e-3) << "image " << i;  // pixels up to 640
  }
}

}  // namespace

}  // namespace seer_test_test_detr_focal_postprocess
