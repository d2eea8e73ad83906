// Prediction on single images (train/predict.h, what `seer predict` runs): the
// image through the val transforms, and --text reaching models that take text
// through Target::caption while other models refuse it.
#include <gtest/gtest.h>

#include "core/error.h"
#include "train/predict.h"
#include "train_fixture.h"
namespace seer_test_test_predict {

using namespace seer;
using namespace seer::test;

namespace {

// A BoxModel that takes a text prompt and remembers the captions it was given.
class TextBoxModel : public BoxModel {
 public:
  bool accepts_text() const override { return true; }
  std::vector<Prediction> predict(const Batch& b) override {
    for (const auto& t : b.targets) captions.push_back(t.caption);
    return BoxModel::predict(b);
  }
  std::vector<std::string> captions;
};

cv::Mat grey_image(int h, int w) { return cv::Mat(h, w, CV_8UC3, cv::Scalar(120, 60, 30)); }

}  // namespace

TEST(Predict, TextReachesModelsThatTakeItAsTheCaption) {
  std::string dir = temp_dir("predict_text");
  ResolvedConfig r = resolve_config(write_config(dir), {});
  TextBoxModel model;
  model.eval();
  Prediction p = predict_image(model, grey_image(30, 40), "x.jpg", r.data.val->transforms, 0, torch::kCPU,
                               std::string("a red circle"));
  ASSERT_EQ(model.captions, (std::vector<std::string>{"a red circle"}));
  // original pixels of the 30x40 image
  ASSERT_EQ(p.boxes.size(0), 1);
  EXPECT_LE(p.boxes[0][2].item<float>(), 40.f + 1e-4);
  EXPECT_LE(p.boxes[0][3].item<float>(), 30.f + 1e-4);
  predict_image(model, grey_image(30, 40), "x.jpg", r.data.val->transforms, 0, torch::kCPU);
  EXPECT_EQ(model.captions.back(), "");
}

TEST(Predict, ModelsWithoutTextRefuseAPrompt) {
  std::string dir = temp_dir("predict_no_text");
  ResolvedConfig r = resolve_config(write_config(dir), {});
  BoxModel model;
  EXPECT_FALSE(model.accepts_text());
  try {
    predict_image(model, grey_image(30, 40), "x.jpg", r.data.val->transforms, 0, torch::kCPU, std::string("cat"));
    FAIL() << "a prompt was accepted by a model without text";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "--text: the 'fake_box' model takes no text prompt");
  }
  EXPECT_NO_THROW(check_text_prompt(model, std::nullopt));
  EXPECT_EQ(predict_image(model, grey_image(30, 40), "x.jpg", r.data.val->transforms, 0, torch::kCPU).boxes.size(0), 1);
}

TEST(Predict, ImageBatchCarriesTheCaptionAndSizes) {
  std::string dir = temp_dir("predict_batch");
  ResolvedConfig r = resolve_config(write_config(dir), {});
  Batch b = image_batch(grey_image(30, 40), "x.jpg", r.data.val->transforms, 0, "two dogs");
  ASSERT_EQ(b.size(), 1);
  EXPECT_EQ(b.targets[0].caption, "two dogs");
  EXPECT_EQ(b.targets[0].orig_size, (std::array<int64_t, 2>{30, 40}));
  EXPECT_EQ(b.targets[0].file_name, "x.jpg");
  EXPECT_EQ(b.targets[0].num_boxes(), 0);
}

}  // namespace seer_test_test_predict
