// One prediction as JSON and as a drawing (core/predictions.h, core/visualize.h):
// selection, class names and dataset ids, phrases, tags, masks as RLE, and drawings
// that stay readable on small images without covering the objects.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "core/predictions.h"
#include "core/visualize.h"
#include "ops/coco_mask.h"
namespace seer_test_test_predictions {

using namespace seer;

namespace {

CategoryTable shapes() {
  CategoryTable c;
  c.add(3, "circle");  // dataset ids that are not the contiguous indices
  c.add(7, "square");
  c.add(9, "triangle");
  return c;
}

Prediction three_boxes() {
  Prediction p;
  p.boxes = torch::tensor({{0.f, 0.f, 10.f, 10.f}, {5.f, 5.f, 20.f, 30.f}, {1.f, 2.f, 3.f, 4.f}});
  p.scores = torch::tensor({0.2f, 0.9f, 0.6f});
  p.labels = torch::tensor({0, 2, 5}, torch::kLong);  // 5: no such class
  p.phrases = {"a red ball", "the tall box", "a dot"};
  p.masks = torch::zeros({3, 40, 30}, torch::kUInt8);
  p.masks[1].slice(0, 5, 30).slice(1, 5, 20).fill_(1);
  p.image_id = 12;
  return p;
}

// Pixels that differ between two images of the same size.
int changed(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  return cv::countNonZero(d.reshape(1));
}

}  // namespace

TEST(Predictions, SelectionSortsThresholdsCapsAndKeepsFieldsTogether) {
  Prediction s = select_detections(three_boxes(), {/*score_threshold=*/0.5, /*max_detections=*/100});
  ASSERT_EQ(s.boxes.size(0), 2);
  EXPECT_TRUE(torch::equal(s.scores, torch::tensor({0.9f, 0.6f})));
  EXPECT_TRUE(torch::equal(s.labels, torch::tensor({2, 5}, torch::kLong)));
  EXPECT_EQ(s.phrases, (std::vector<std::string>{"the tall box", "a dot"}));
  ASSERT_EQ(s.masks.size(0), 2);
  EXPECT_EQ(s.masks[0].sum().item<int64_t>(), 25 * 15);
  EXPECT_EQ(s.image_id, 12);
  Prediction one = select_detections(three_boxes(), {0.0, 1});
  ASSERT_EQ(one.boxes.size(0), 1);
  EXPECT_TRUE(torch::equal(one.boxes[0], torch::tensor({5.f, 5.f, 20.f, 30.f})));
  Prediction none = select_detections(Prediction{}, {});
  EXPECT_EQ(none.boxes.size(0), 0);
}

TEST(Predictions, JsonNamesClassesIdsPhrasesAndMasks) {
  const PredictionView view{0.5, 100};
  Prediction p = select_detections(three_boxes(), view);
  auto j = prediction_to_json(p, shapes(), view);
  ASSERT_EQ(j["boxes"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["boxes"][0][3].get<double>(), 30.0);
  EXPECT_NEAR(j["scores"][0].get<double>(), 0.9, 1e-6);
  EXPECT_EQ(j["labels"], nlohmann::ordered_json({2, 5}));
  EXPECT_EQ(j["label_names"], nlohmann::ordered_json::array({"triangle", "5"}));
  EXPECT_EQ(j["category_ids"], nlohmann::ordered_json({9, -1}));
  EXPECT_EQ(j["phrases"], nlohmann::ordered_json::array({"the tall box", "a dot"}));
  EXPECT_FALSE(j.contains("tags"));
  // masks: compressed COCO RLE of the 40x30 mask, which decodes back to it
  ASSERT_EQ(j["masks"].size(), 2u);
  EXPECT_EQ(j["masks"][0]["size"], nlohmann::ordered_json({40, 30}));
  rle::Rle r = rle::from_string(j["masks"][0]["counts"].get<std::string>(), 40, 30);
  auto decoded = rle::decode(r);
  auto expect = p.masks[0].contiguous();
  ASSERT_EQ(decoded.size(), 40u * 30u);
  EXPECT_TRUE(std::equal(decoded.begin(), decoded.end(), expect.data_ptr<uint8_t>()));
  EXPECT_EQ(rle::area(rle::from_string(j["masks"][1]["counts"].get<std::string>(), 40, 30)), 0u);
  // floating masks are thresholded
  p.masks = p.masks.to(torch::kFloat) * 0.7;
  auto jf = prediction_to_json(p, shapes(), view);
  EXPECT_EQ(jf["masks"][0]["counts"], j["masks"][0]["counts"]);
  // a detector's plain output: no phrases, no masks, no tags keys
  Prediction plain;
  plain.boxes = torch::tensor({{1.f, 2.f, 3.f, 4.f}});
  plain.scores = torch::tensor({0.5f});
  plain.labels = torch::tensor({1}, torch::kLong);
  auto jp = prediction_to_json(plain, shapes());
  EXPECT_EQ(jp["label_names"][0], "square");
  EXPECT_EQ(jp["category_ids"][0], 7);
  for (const char* k : {"phrases", "masks", "tags"}) EXPECT_FALSE(jp.contains(k)) << k;
}

TEST(Predictions, JsonTagsBestFirstWithNames) {
  Prediction p;
  p.tag_scores = torch::tensor({0.1f, 0.8f, 0.55f, 0.95f});
  PredictionView view;
  view.tag_threshold = 0.5;
  CategoryTable tags;
  for (const char* n : {"cat", "dog", "grass", "sky"}) tags.add(tags.size(), n);
  auto j = prediction_to_json(p, tags, view);
  EXPECT_EQ(j["boxes"].size(), 0u);
  ASSERT_EQ(j["tags"].size(), 3u);
  EXPECT_EQ(j["tags"][0]["name"], "sky");
  EXPECT_EQ(j["tags"][0]["index"], 3);
  EXPECT_NEAR(j["tags"][0]["score"].get<double>(), 0.95, 1e-6);
  EXPECT_EQ(j["tags"][1]["name"], "dog");
  EXPECT_EQ(j["tags"][2]["name"], "grass");
  view.max_tags = 1;
  EXPECT_EQ(prediction_to_json(p, tags, view)["tags"].size(), 1u);
  // names given apart from the category table
  auto named = prediction_to_json(p, shapes(), PredictionView{}, {"w", "x", "y", "z"});
  EXPECT_EQ(named["tags"][0]["name"], "z");
}

TEST(Visualize, SmallImagesAreEnlargedByAnIntegerFactor) {
  EXPECT_EQ(draw_upscale(128, 128), 4);
  EXPECT_EQ(draw_upscale(128, 300), 4);
  EXPECT_EQ(draw_upscale(64, 100), 8);
  EXPECT_EQ(draw_upscale(20, 20), 8);  // capped
  EXPECT_EQ(draw_upscale(480, 640), 1);
  EXPECT_EQ(draw_upscale(1000, 700), 1);
}

// The demo's 128 px images: the drawing is 4x larger and the label sits above the
// box, so the object inside the box is not covered.
TEST(Visualize, LabelsDoNotCoverTheObjectOnASmallImage) {
  cv::Mat rgb(128, 128, CV_8UC3, cv::Scalar(90, 90, 90));
  cv::rectangle(rgb, {40, 50}, {88, 98}, cv::Scalar(250, 250, 250), cv::FILLED);
  Prediction p;
  p.boxes = torch::tensor({{40.f, 50.f, 88.f, 98.f}});
  p.scores = torch::tensor({0.87f});
  p.labels = torch::tensor({1}, torch::kLong);
  cv::Mat drawn = draw_prediction(rgb, p, shapes());
  ASSERT_EQ(drawn.rows, 512);
  ASSERT_EQ(drawn.cols, 512);
  cv::Mat plain;
  cv::resize(rgb, plain, {512, 512}, 0, 0, cv::INTER_LINEAR);
  // the object's inside (away from the box line) is untouched ...
  const cv::Rect inside(40 * 4 + 8, 50 * 4 + 8, 48 * 4 - 16, 48 * 4 - 16);
  EXPECT_EQ(changed(drawn(inside), plain(inside)), 0);
  // ... and the label was drawn above it, at a readable size
  const cv::Rect above(40 * 4, 0, 48 * 4 + 60, 50 * 4 - 4);
  const int label_pixels = changed(drawn(above), plain(above));
  EXPECT_GT(label_pixels, 500);
  cv::Mat diff;
  cv::absdiff(drawn(above), plain(above), diff);
  cv::Mat any;
  cv::cvtColor(diff, any, cv::COLOR_RGB2GRAY);
  const cv::Rect label = cv::boundingRect(any > 0);
  EXPECT_GE(label.height, 14);       // readable
  EXPECT_LE(label.height, 512 / 12); // and small next to the image
}

TEST(Visualize, MasksTintTheirPixelsAndCaptionsGoInABandAbove) {
  cv::Mat rgb(128, 120, CV_8UC3, cv::Scalar(100, 100, 100));
  Prediction p;
  p.boxes = torch::tensor({{10.f, 60.f, 40.f, 120.f}});
  p.scores = torch::tensor({0.5f});
  p.labels = torch::tensor({0}, torch::kLong);
  p.phrases = {"a thing"};
  p.masks = torch::zeros({1, 128, 120}, torch::kFloat);
  p.masks[0].slice(0, 70, 110).slice(1, 15, 35).fill_(0.9);
  p.tag_scores = torch::tensor({0.9f, 0.2f, 0.7f});
  cv::Mat drawn = draw_prediction(rgb, p, shapes());
  cv::Mat boxes_only;
  {
    Prediction q = p;
    q.tag_scores = torch::Tensor();
    boxes_only = draw_prediction(rgb, q, shapes());
  }
  ASSERT_EQ(boxes_only.rows, 128 * 4);
  // inside the mask (scaled 4x) the colour changed; outside the box it did not
  const cv::Vec3b in = boxes_only.at<cv::Vec3b>(90 * 4, 25 * 4), out = boxes_only.at<cv::Vec3b>(20 * 4, 80 * 4);
  EXPECT_NE(in, cv::Vec3b(100, 100, 100));
  EXPECT_EQ(out, cv::Vec3b(100, 100, 100));
  // tags (and a caption) go into a band above the image, which is left as it was
  ASSERT_GT(drawn.rows, boxes_only.rows);
  const int band = drawn.rows - boxes_only.rows;
  EXPECT_EQ(changed(drawn.rowRange(band, drawn.rows), boxes_only), 0);
  cv::Mat captioned = draw_prediction(rgb, p, shapes(), "a thing on the floor");
  EXPECT_GT(captioned.rows, drawn.rows);  // one more line
}

}  // namespace seer_test_test_predictions
