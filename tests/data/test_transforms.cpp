// Transforms: the DETR resize rule, and boxes / masks / caption spans staying
// consistent through flip, crop, resize and pad.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "core/config.h"
#include "core/error.h"
#include "data/collate.h"
#include "data/synthetic.h"
#include "data/transform_ops.h"
#include "data/transforms.h"
#include "data/pil_resize.h"
#include "pt_fixture.h"
#include "reader_test_util.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_transforms {
namespace {

// (w, h) of the bounding box of a [H,W] uint8 mask as xyxy pixel edges; {-1..} when empty.
std::array<int64_t, 4> mask_bbox(const torch::Tensor& m) {
  auto nz = m.nonzero();
  if (nz.size(0) == 0) return {-1, -1, -1, -1};
  auto mn = std::get<0>(nz.min(0)), mx = std::get<0>(nz.max(0));
  return {mn[1].item<int64_t>(), mn[0].item<int64_t>(), mx[1].item<int64_t>() + 1, mx[0].item<int64_t>() + 1};
}

std::string span_text(const std::string& caption, const Span& s) { return caption.substr(s.begin, s.end - s.begin); }

Sample synthetic_sample(int64_t index, const std::string& caption = "classes",
                        std::vector<std::string> classes = {"circle", "square", "triangle"}, int64_t max_objects = 5) {
  SyntheticOptions o;
  o.num_images = 64;
  o.seed = 7;
  o.caption = caption;
  o.classes = std::move(classes);
  o.max_objects = max_objects;
  return SyntheticDataset(o).get(index);
}

bool mats_equal(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return false;
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  return cv::countNonZero(diff.reshape(1)) == 0;
}

TransformList parse(const std::string& yaml) {
  Config cfg = Config::from_string(yaml, "<test>");
  TransformList list = read_transforms(cfg.root(), "transforms");
  cfg.check_unknown_keys();
  return list;
}

std::string parse_error(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// ------------------------------------------------------------ resize rule

TEST(Transforms, DetrResizeRuleTable) {
  // Expected sizes computed by running get_size_with_aspect_ratio from
  // facebookresearch/detr datasets/transforms.py (commit
  // 29901c51d7fe8712168b8d0d64351170bc0f83e0) under /usr/bin/python3.
  // max_size -1 = None.
  struct Row {
    int64_t w, h, size, max_size, out_w, out_h;
  };
  const Row rows[] = {
      {640, 480, 800, 1333, 1066, 800}, {480, 640, 800, 1333, 800, 1066}, {500, 375, 800, 1333, 1066, 800},
      {333, 500, 800, 1333, 800, 1201}, {1000, 200, 800, 1333, 1335, 267}, {200, 1000, 800, 1333, 267, 1335},
      {800, 600, 800, 1333, 1066, 800}, {600, 800, 800, 1333, 800, 1066}, {640, 427, 512, 1333, 767, 512},
      {427, 640, 480, -1, 480, 719},    {1333, 800, 800, 1333, 1333, 800}, {3000, 700, 800, 1333, 1332, 311},
      {701, 3001, 600, 1000, 234, 1001}, {641, 479, 608, 1333, 813, 608}, {320, 240, 800, 1000, 1000, 750},
      {160, 160, 224, -1, 224, 224},    {160, 120, 800, 1333, 1066, 800}, {123, 457, 800, 1333, 359, 1333},
      {457, 123, 544, 800, 798, 215},   {800, 801, 800, 1333, 800, 801},  {1920, 1080, 800, 1333, 1333, 750},
      {250, 190, 384, 600, 505, 384},   {190, 250, 416, -1, 416, 547},    {317, 211, 736, 1333, 1105, 736},
  };
  for (const Row& r : rows) {
    auto hw = detr_resize_hw(r.w, r.h, r.size, r.max_size);
    EXPECT_EQ(hw[1], r.out_w) << r.w << "x" << r.h << " size " << r.size << " max " << r.max_size;
    EXPECT_EQ(hw[0], r.out_h) << r.w << "x" << r.h << " size " << r.size << " max " << r.max_size;
  }
}

TEST(Transforms, ResizeScalesBoxesAreaAndMasks) {
  Sample s = synthetic_sample(3);
  const int64_t h0 = s.image.rows, w0 = s.image.cols;
  auto boxes0 = s.target.boxes.clone();
  auto area0 = s.target.area.clone();
  auto list = parse("transforms: [{type: resize, size: 400, max_size: 600}]");
  SampleRng rng(1);
  apply_transforms(list, s, rng);
  auto hw = detr_resize_hw(w0, h0, 400, 600);
  ASSERT_EQ(s.image.rows, hw[0]);
  ASSERT_EQ(s.image.cols, hw[1]);
  EXPECT_EQ(s.target.size[0], hw[0]);
  const double rw = double(hw[1]) / w0, rh = double(hw[0]) / h0;
  auto expect = boxes0 * torch::tensor({rw, rh, rw, rh}, torch::kFloat32);
  EXPECT_TRUE(torch::allclose(s.target.boxes, expect));
  EXPECT_TRUE(torch::allclose(s.target.area, area0 * float(rw * rh)));
  ASSERT_EQ(s.target.masks.size(1), hw[0]);
  ASSERT_EQ(s.target.masks.size(2), hw[1]);
  for (int64_t i = 0; i < s.target.num_boxes(); ++i) {
    auto mb = mask_bbox(s.target.masks[i]);
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(mb[c], s.target.boxes[i][c].item<float>(), 1.0 + 1e-4) << i << " " << c;
  }
}

TEST(Transforms, ResizeFixedHwAndRandomResizePicksFromSizes) {
  Sample s = synthetic_sample(1);
  SampleRng rng0(0);
  apply_transforms(parse("transforms: [{type: resize, size: [100, 140]}]"), s, rng0);
  EXPECT_EQ(s.image.rows, 100);
  EXPECT_EQ(s.image.cols, 140);
  EXPECT_EQ(s.target.masks.size(1), 100);

  auto list = parse("transforms: [{type: random_resize, sizes: [96, 128, 160], max_size: 1000}]");
  std::set<int64_t> shorts;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Sample t = synthetic_sample(1);
    SampleRng rng(seed);
    apply_transforms(list, t, rng);
    int64_t short_side = std::min(t.image.rows, t.image.cols);
    EXPECT_TRUE(short_side == 96 || short_side == 128 || short_side == 160) << short_side;
    shorts.insert(short_side);
  }
  EXPECT_EQ(shorts.size(), 3u);
}

TEST(Transforms, ResizeDownscaleIsAntialiased) {
  // A one-pixel checkerboard shrunk 4x must come out flat grey (PIL-style
  // antialiasing), not a sampled checkerboard.
  Sample s;
  s.image = cv::Mat(64, 64, CV_8UC3);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) s.image.at<cv::Vec3b>(y, x) = ((x + y) % 2) ? cv::Vec3b(255, 255, 255) : cv::Vec3b(0, 0, 0);
  resize_sample(s, 16, 16);
  double mn, mx;
  cv::minMaxLoc(s.image.reshape(1), &mn, &mx);
  EXPECT_GE(mn, 120);
  EXPECT_LE(mx, 135);
}

TEST(Transforms, ResizeMatchesPilBilinear) {
  // Reference: PIL 9.4 Image.resize(..., Image.BILINEAR) (what torchvision's
  // F.resize does on the PIL images DETR loads) on this pattern, run with
  // /usr/bin/python3; grey pattern replicated into R, G, B.
  auto pattern = [](int w, int h) {
    cv::Mat m(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        auto v = static_cast<uint8_t>((x * 37 + y * 91 + (x * y) % 13 * 11) % 256);
        m.at<cv::Vec3b>(y, x) = cv::Vec3b(v, v, v);
      }
    return m;
  };
  struct Case {
    int w, h, ow, oh;
    std::vector<int> expect;
  };
  const Case cases[] = {
      {20, 16, 7, 5, {120, 129, 132, 115, 144, 118, 138, 121, 107, 133, 148, 134, 114, 123, 142, 113, 120, 127,
                      118, 107, 111, 128, 110, 148, 140, 116, 102, 101, 136, 108, 129, 139, 102, 130, 123}},
      {8, 6, 12, 9, {0,   19,  43,  68,  93,  117, 142, 167, 191, 216, 113, 3,   46,  67,  95,  124, 152, 159,
                     102, 109, 137, 166, 130, 87,  106, 131, 157, 162, 188, 185, 77,  75,  101, 105, 141, 175,
                     167, 196, 198, 94,  97,  128, 137, 168, 170, 67,  116, 192, 100, 132, 154, 111, 133, 155,
                     112, 163, 191, 63,  92,  152, 32,  68,  109, 128, 169, 177, 67,  123, 182, 88,  88,  112,
                     93,  133, 150, 60,  78,  104, 48,  84,  139, 162, 149, 129, 154, 133, 105, 78,  79,  88,
                     98,  80,  83,  178, 146, 89,  199, 117, 50,  112, 102, 91,  153, 86,  38,  175, 127, 45}},
  };
  for (const Case& c : cases) {
    Sample s;
    s.image = pattern(c.w, c.h);
    resize_sample(s, c.oh, c.ow);
    ASSERT_EQ(s.image.rows, c.oh);
    ASSERT_EQ(s.image.cols, c.ow);
    int max_diff = 0;
    for (int y = 0; y < c.oh; ++y)
      for (int x = 0; x < c.ow; ++x)
        for (int ch = 0; ch < 3; ++ch)
          max_diff = std::max(max_diff, std::abs(int(s.image.at<cv::Vec3b>(y, x)[ch]) - c.expect[y * c.ow + x]));
    EXPECT_EQ(max_diff, 0) << c.w << "x" << c.h << " -> " << c.ow << "x" << c.oh;
  }
}

TEST(Transforms, PilResizeIsBitExactOnRgbFixture) {
  // scripts/fixtures/make_resize_fixtures.py: PIL 9.4 Image.resize(BILINEAR) of a
  // random 48x64 RGB image to shrinking, enlarging, one-axis, mixed and 9x-shrink sizes.
  auto fx = test::load_tensor_dict(test::fixture("transforms/pil_resize.pt"));
  auto input = fx.at("input").contiguous();  // [48, 64, 3] uint8
  cv::Mat src(static_cast<int>(input.size(0)), static_cast<int>(input.size(1)), CV_8UC3, input.data_ptr());
  int cases = 0;
  for (const auto& [key, want] : fx) {
    if (key.rfind("out_", 0) != 0) continue;
    ++cases;
    const int h = static_cast<int>(want.size(0)), w = static_cast<int>(want.size(1));
    cv::Mat got = pil_bilinear_resize(src, h, w);
    ASSERT_EQ(got.rows, h);
    ASSERT_EQ(got.cols, w);
    auto got_t = torch::from_blob(got.data, {h, w, 3}, torch::kUInt8).to(torch::kInt);
    EXPECT_EQ((got_t - want.to(torch::kInt)).abs().max().item<int>(), 0) << key;
    // resize_sample (what the resize transforms call) takes the same path, on an ROI too
    Sample s;
    cv::Mat padded(src.rows + 4, src.cols + 6, CV_8UC3, cv::Scalar(7, 7, 7));
    src.copyTo(padded(cv::Rect(3, 2, src.cols, src.rows)));
    s.image = padded(cv::Rect(3, 2, src.cols, src.rows));
    resize_sample(s, h, w);
    EXPECT_EQ(cv::norm(s.image, got, cv::NORM_INF), 0) << key << " through resize_sample on an ROI";
  }
  EXPECT_EQ(cases, 7);
  EXPECT_THROW(pil_bilinear_resize(cv::Mat(4, 4, CV_32FC3), 2, 2), std::invalid_argument);
}

// ------------------------------------------------------------ flip

TEST(Transforms, SwapLeftRightMovesSpans) {
  std::string cap = "the red circle left of the blue square";
  std::vector<std::vector<Span>> spans = {{{4, 14}}, {{27, 38}}, {{15, 22}}};  // "red circle", "blue square", "left of"
  std::string out = swap_left_right(cap, spans);
  EXPECT_EQ(out, "the red circle right of the blue square");
  EXPECT_EQ(span_text(out, spans[0][0]), "red circle");
  EXPECT_EQ(span_text(out, spans[1][0]), "blue square");
  EXPECT_EQ(span_text(out, spans[2][0]), "right of");

  // whole words only, capitals kept, several swaps in one caption
  std::vector<std::vector<Span>> none;
  EXPECT_EQ(swap_left_right("Left leftover, RIGHT right-hand left.", none), "Right leftover, LEFT left-hand right.");
  // a span edge inside a swapped word snaps to the word
  std::vector<std::vector<Span>> inside = {{{2, 4}}, {{8, 11}}};  // "ft" of "left", "igh" of "right"
  std::string o2 = swap_left_right("a left right z", inside);
  EXPECT_EQ(o2, "a right left z");
  EXPECT_EQ(span_text(o2, inside[0][0]), "right");
  EXPECT_EQ(span_text(o2, inside[1][0]), "left");
}

TEST(Transforms, FlipTwiceIsIdentity) {
  for (int64_t idx : {0, 5, 9}) {
    Sample s = synthetic_sample(idx, "referring");
    // a caption with both words and spans after them
    s.target.caption = "the " + s.target.caption + " near the left edge, right?";
    for (auto& v : s.target.tokens_positive)
      for (auto& sp : v) sp = Span{sp.begin + 4, sp.end + 4};
    Sample orig = s;
    orig.image = s.image.clone();
    orig.target.boxes = s.target.boxes.clone();
    orig.target.masks = s.target.masks.clone();

    hflip_sample(s);
    EXPECT_NE(s.target.caption, orig.target.caption);
    EXPECT_FALSE(mats_equal(s.image, orig.image));
    // flipped boxes still frame their flipped masks
    for (int64_t i = 0; i < s.target.num_boxes(); ++i) {
      auto mb = mask_bbox(s.target.masks[i]);
      for (int c = 0; c < 4; ++c) EXPECT_EQ(mb[c], s.target.boxes[i][c].item<float>());
    }
    hflip_sample(s);
    EXPECT_TRUE(mats_equal(s.image, orig.image));
    EXPECT_TRUE(torch::equal(s.target.boxes, orig.target.boxes));
    EXPECT_TRUE(torch::equal(s.target.masks, orig.target.masks));
    EXPECT_EQ(s.target.caption, orig.target.caption);
    ASSERT_EQ(s.target.tokens_positive.size(), orig.target.tokens_positive.size());
    for (size_t i = 0; i < s.target.tokens_positive.size(); ++i)
      EXPECT_TRUE(s.target.tokens_positive[i] == orig.target.tokens_positive[i]);
  }
}

TEST(Transforms, FlipKeepsSpansOnTheirPhrase) {
  Sample s;
  s.image = cv::Mat(50, 100, CV_8UC3, cv::Scalar(10, 20, 30));
  s.target.caption = "the red circle left of the blue square";
  s.target.boxes = torch::tensor({{10.f, 10.f, 30.f, 30.f}, {60.f, 5.f, 90.f, 40.f}});
  s.target.labels = torch::tensor({0, 1}, torch::kInt64);
  s.target.tokens_positive = {{{4, 14}}, {{27, 38}}};
  hflip_sample(s);
  EXPECT_EQ(s.target.caption, "the red circle right of the blue square");
  EXPECT_EQ(span_text(s.target.caption, s.target.tokens_positive[0][0]), "red circle");
  EXPECT_EQ(span_text(s.target.caption, s.target.tokens_positive[1][0]), "blue square");
  EXPECT_TRUE(torch::equal(s.target.boxes, torch::tensor({{70.f, 10.f, 90.f, 30.f}, {10.f, 5.f, 40.f, 40.f}})));
}

TEST(Transforms, Flickr30kSpansSurviveFlipAndResize) {
  // a Flickr30k Entities sample written here: 80 x 60 image, three boxed phrases,
  // "left" and "right" in the caption so the flip moves the spans after them
  std::string dir = test::temp_dir("flickr_transforms");
  for (const char* sub : {"Sentences", "Annotations", "images"}) std::filesystem::create_directories(dir + "/" + sub);
  test::write_text(dir + "/Sentences/7.txt",
                   "[/EN#1/people A man] on the left holds [/EN#2/other a red ball] in [/EN#3/bodyparts his right hand] .\n");
  auto obj = [](int id, const char* xmin, const char* ymin, const char* xmax, const char* ymax) {
    return "<object><name>" + std::to_string(id) + "</name><bndbox><xmin>" + xmin + "</xmin><ymin>" + ymin +
           "</ymin><xmax>" + xmax + "</xmax><ymax>" + ymax + "</ymax></bndbox></object>";
  };
  test::write_text(dir + "/Annotations/7.xml", "<annotation><size><width>80</width><height>60</height></size>" +
                                                   obj(1, "11", "6", "40", "50") + obj(2, "51", "11", "60", "20") +
                                                   obj(3, "46", "21", "55", "30") + "</annotation>");
  cv::imwrite(dir + "/images/7.jpg", cv::Mat(60, 80, CV_8UC3, cv::Scalar(40, 90, 140)));
  Sample s = test::build_dataset("type: flickr30k_entities\n", OnError::Fail, dir)->get(0);
  ASSERT_EQ(s.target.num_boxes(), 3);
  EXPECT_EQ(span_text(s.target.caption, s.target.tokens_positive[2][0]), "his right hand");

  auto list = parse("transforms: [{type: random_horizontal_flip, p: 1.0}, {type: resize, size: 120, max_size: 1000}]");
  SampleRng rng(5);
  apply_transforms(list, s, rng);
  const Target& t = s.target;
  EXPECT_EQ(t.caption, "A man on the right holds a red ball in his left hand .");
  ASSERT_EQ(t.tokens_positive.size(), 3u);
  EXPECT_EQ(span_text(t.caption, t.tokens_positive[0][0]), "A man");
  EXPECT_EQ(span_text(t.caption, t.tokens_positive[1][0]), "a red ball");
  EXPECT_EQ(span_text(t.caption, t.tokens_positive[2][0]), "his left hand");
  EXPECT_EQ(s.image.rows, 120);
  EXPECT_EQ(s.image.cols, 160);
  // edges [10,5,40,50], [50,10,60,20], [45,20,55,30] mirrored in x (width 80), then x2
  EXPECT_TRUE(torch::allclose(t.boxes, torch::tensor({{80.f, 10.f, 140.f, 100.f}, {40.f, 20.f, 60.f, 40.f},
                                                      {50.f, 40.f, 70.f, 60.f}})));
  EXPECT_EQ(t.image_id, 7);
  EXPECT_EQ(t.orig_size, (std::array<int64_t, 2>{60, 80}));
}

TEST(Transforms, RandomFlipUsesProbability) {
  auto never = parse("transforms: [{type: random_horizontal_flip, p: 0.0}]");
  auto always = parse("transforms: [{type: random_horizontal_flip, p: 1.0}]");
  Sample a = synthetic_sample(2), b = synthetic_sample(2), ref = synthetic_sample(2);
  SampleRng r1(3), r2(3);
  apply_transforms(never, a, r1);
  apply_transforms(always, b, r2);
  EXPECT_TRUE(torch::equal(a.target.boxes, ref.target.boxes));
  hflip_sample(ref);
  EXPECT_TRUE(torch::equal(b.target.boxes, ref.target.boxes));
}

// ------------------------------------------------------------ crop

TEST(Transforms, CropDropsBoxesWithTheirSpans) {
  Sample s;
  s.image = cv::Mat(100, 100, CV_8UC3, cv::Scalar(1, 2, 3));
  Target& t = s.target;
  t.caption = "a . b . c .";
  t.boxes = torch::tensor({{10.f, 10.f, 30.f, 30.f}, {60.f, 60.f, 90.f, 90.f}, {40.f, 5.f, 70.f, 20.f}});
  t.labels = torch::tensor({0, 1, 2}, torch::kInt64);
  t.area = torch::tensor({400.f, 900.f, 450.f});
  t.iscrowd = torch::tensor({0, 1, 0}, torch::kUInt8);
  t.masks = torch::zeros({3, 100, 100}, torch::kUInt8);
  t.masks[0].narrow(0, 10, 20).narrow(1, 10, 20).fill_(1);
  t.masks[1].narrow(0, 60, 30).narrow(1, 60, 30).fill_(1);
  t.masks[2].narrow(0, 5, 15).narrow(1, 40, 30).fill_(1);
  t.tokens_positive = {{{0, 1}}, {{4, 5}}, {{8, 9}}};
  crop_sample(s, 0, 0, 50, 50);
  EXPECT_EQ(s.image.rows, 50);
  EXPECT_EQ(s.image.cols, 50);
  ASSERT_EQ(t.num_boxes(), 2);
  EXPECT_TRUE(torch::equal(t.labels, torch::tensor({0, 2}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(t.iscrowd, torch::tensor({0, 0}, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(t.boxes, torch::tensor({{10.f, 10.f, 30.f, 30.f}, {40.f, 5.f, 50.f, 20.f}})));
  EXPECT_TRUE(torch::allclose(t.area, torch::tensor({400.f, 150.f})));  // the cropped box area, as DETR
  ASSERT_EQ(t.tokens_positive.size(), 2u);
  EXPECT_EQ(span_text(t.caption, t.tokens_positive[0][0]), "a");
  EXPECT_EQ(span_text(t.caption, t.tokens_positive[1][0]), "c");
  ASSERT_EQ(t.masks.size(0), 2);
  EXPECT_EQ(t.masks.size(1), 50);
  auto mb = mask_bbox(t.masks[1]);
  EXPECT_EQ(mb, (std::array<int64_t, 4>{40, 5, 50, 20}));
}

TEST(Transforms, RandomSizeCropKeepsBoxesMasksAndSpansAligned) {
  auto list = parse("transforms: [{type: random_size_crop, min_size: 60, max_size: 200}]");
  int dropped = 0;
  for (int64_t idx = 0; idx < 30; ++idx) {
    // single axis-aligned squares: the visible mask is a rectangle, so after any
    // crop its bounding box must equal the clamped box
    for (bool squares : {true, false}) {
      Sample s = squares ? synthetic_sample(idx, "classes", {"square"}, 1) : synthetic_sample(idx, "classes");
      const int64_t n0 = s.target.num_boxes();
      const int64_t h0 = s.image.rows, w0 = s.image.cols;
      SampleRng rng(100 + idx);
      apply_transforms(list, s, rng);
      const Target& t = s.target;
      EXPECT_LE(s.image.rows, std::min<int64_t>(h0, 200));
      EXPECT_LE(s.image.cols, std::min<int64_t>(w0, 200));
      EXPECT_GE(s.image.rows, std::min<int64_t>(h0, 60));
      dropped += static_cast<int>(n0 - t.num_boxes());
      ASSERT_EQ(t.labels.size(0), t.num_boxes());
      ASSERT_EQ(t.masks.size(0), t.num_boxes());
      ASSERT_EQ(t.area.size(0), t.num_boxes());
      ASSERT_EQ(static_cast<int64_t>(t.tokens_positive.size()), t.num_boxes());
      EXPECT_EQ(t.masks.size(1), s.image.rows);
      EXPECT_EQ(t.masks.size(2), s.image.cols);
      for (int64_t i = 0; i < t.num_boxes(); ++i) {
        auto b = t.boxes[i];
        EXPECT_GE(b[0].item<float>(), 0);
        EXPECT_GE(b[1].item<float>(), 0);
        EXPECT_LE(b[2].item<float>(), s.image.cols);
        EXPECT_LE(b[3].item<float>(), s.image.rows);
        EXPECT_GT(b[2].item<float>(), b[0].item<float>());
        EXPECT_GT(b[3].item<float>(), b[1].item<float>());
        // the span still names the box's class
        EXPECT_EQ(span_text(t.caption, t.tokens_positive[i][0]),
                  (squares ? std::vector<std::string>{"square"} : std::vector<std::string>{"circle", "square", "triangle"})
                      [t.labels[i].item<int64_t>()]);
        auto mb = mask_bbox(t.masks[i]);
        if (squares) {
          for (int c = 0; c < 4; ++c) EXPECT_NEAR(mb[c], b[c].item<float>(), 1.0) << idx << " " << c;
        } else if (mb[0] >= 0) {  // any shape: the mask stays inside its box
          EXPECT_GE(mb[0], b[0].item<float>() - 1);
          EXPECT_GE(mb[1], b[1].item<float>() - 1);
          EXPECT_LE(mb[2], b[2].item<float>() + 1);
          EXPECT_LE(mb[3], b[3].item<float>() + 1);
        }
      }
    }
  }
  EXPECT_GT(dropped, 0);  // the sweep did exercise dropping
}

// ------------------------------------------------------------ pad, jitter, select

TEST(Transforms, PadToDivisorAndFixedSize) {
  Sample s = synthetic_sample(4);
  const int64_t h = s.image.rows, w = s.image.cols;
  auto boxes = s.target.boxes.clone();
  SampleRng rng(0);
  apply_transforms(parse("transforms: [{type: pad, size_divisor: 64}]"), s, rng);
  EXPECT_EQ(s.image.rows % 64, 0);
  EXPECT_EQ(s.image.cols % 64, 0);
  EXPECT_LT(s.image.rows - h, 64);
  EXPECT_TRUE(torch::equal(s.target.boxes, boxes));
  EXPECT_EQ(s.target.masks.size(1), s.image.rows);
  EXPECT_EQ(s.target.masks.size(2), s.image.cols);
  EXPECT_EQ(cv::countNonZero(s.image(cv::Rect(w, 0, s.image.cols - w, s.image.rows)).reshape(1)), 0);
  apply_transforms(parse("transforms: [{type: pad, size: [700, 720]}]"), s, rng);
  EXPECT_EQ(s.image.rows, 700);
  EXPECT_EQ(s.image.cols, 720);
  EXPECT_EQ(s.target.masks.size(2), 720);
}

// Regression: padding added by the `pad` transform must be marked as padding
// in the batch (Target::size is the region before padding, DESIGN.md §2).
TEST(Transforms, PadKeepsTheValidSizeForCollate) {
  Sample s = synthetic_sample(4);
  SampleRng rng(0);
  apply_transforms(parse("transforms: [{type: resize, size: 100}, {type: pad, size_divisor: 64}]"), s, rng);
  const std::array<int64_t, 2> valid = s.target.size;
  EXPECT_EQ(valid[0], 100);  // short side 100 is no multiple of 64: padding was added
  EXPECT_GT(s.image.rows * s.image.cols, valid[0] * valid[1]);
  std::vector<Sample> v{s};
  Batch b = collate(std::move(v));
  EXPECT_EQ(b.targets[0].size, valid);
  EXPECT_EQ((~b.pad_mask[0]).sum().item<int64_t>(), valid[0] * valid[1]);
  EXPECT_TRUE(b.pad_mask[0][s.image.rows - 1][s.image.cols - 1].item<bool>());
}

TEST(Transforms, ColorJitterIsSeededAndKeepsGeometry) {
  auto list = parse("transforms: [{type: color_jitter, brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1}]");
  Sample a = synthetic_sample(6), b = synthetic_sample(6), c = synthetic_sample(6), ref = synthetic_sample(6);
  SampleRng ra(5), rb(5), rc(6);
  apply_transforms(list, a, ra);
  apply_transforms(list, b, rb);
  apply_transforms(list, c, rc);
  EXPECT_TRUE(mats_equal(a.image, b.image));
  EXPECT_FALSE(mats_equal(a.image, c.image));
  EXPECT_FALSE(mats_equal(a.image, ref.image));
  EXPECT_EQ(a.image.type(), CV_8UC3);
  EXPECT_TRUE(torch::equal(a.target.boxes, ref.target.boxes));

  // brightness alone is a plain scale: torchvision adjust_brightness
  Sample d;
  d.image = cv::Mat(4, 4, CV_8UC3, cv::Scalar(100, 50, 200));
  SampleRng rd(11), probe(11);
  apply_transforms(parse("transforms: [{type: color_jitter, brightness: 0.5, contrast: 0, saturation: 0, hue: 0}]"), d, rd);
  for (int i = 3; i > 0; --i) probe.randint(0, i);  // the op order
  double f = probe.uniform(0.5, 1.5);
  auto px = d.image.at<cv::Vec3b>(0, 0);
  EXPECT_NEAR(px[0], std::min(255.0, 100 * f), 0.51);
  EXPECT_NEAR(px[2], std::min(255.0, 200 * f), 0.51);
}

TEST(Transforms, RandomSelectReadsNestedLists) {
  const std::string yaml = R"(
transforms:
  - type: random_select
    p: 0.5
    first:
      - {type: random_resize, sizes: [64], max_size: 500}
    second:
      - {type: random_resize, sizes: [80]}
      - {type: random_size_crop, min_size: 40, max_size: 60}
      - type: random_select
        first: [{type: resize, size: [30, 30]}]
        second: [{type: resize, size: [31, 31]}]
)";
  auto list = parse(yaml);  // also passes check_unknown_keys
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]->name(), "random_select");
  std::set<int> sides;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    Sample s = synthetic_sample(0);
    SampleRng rng(seed);
    apply_transforms(list, s, rng);
    sides.insert(std::min(s.image.rows, s.image.cols));
  }
  EXPECT_EQ(sides, (std::set<int>{30, 31, 64}));
  EXPECT_NE(parse_error("transforms: [{type: random_select, first: [{type: rezise, size: 3}]}]").find("did you mean 'resize'"),
            std::string::npos);
}

// ------------------------------------------------------------ bad configs

TEST(Transforms, UnknownTypeSuggestsTheNearest) {
  std::string err = parse_error("transforms: [{type: random_horizontal_flipp}]");
  EXPECT_NE(err.find("unknown transform 'random_horizontal_flipp'"), std::string::npos) << err;
  EXPECT_NE(err.find("did you mean 'random_horizontal_flip'"), std::string::npos) << err;
  EXPECT_NE(err.find("transforms[0].type"), std::string::npos) << err;
  err = parse_error("transforms: [{type: random_resize, sizes: [100], max_sise: 3}]");
  EXPECT_NE(err.find("max_sise"), std::string::npos) << err;
}

TEST(Transforms, NegativeAndInvalidSizesAreRejected) {
  const char* bad[] = {
      "transforms: [{type: resize, size: -1}]",
      "transforms: [{type: resize, size: 0}]",
      "transforms: [{type: resize, size: [100, -3]}]",
      "transforms: [{type: resize, size: [1, 2, 3]}]",
      "transforms: [{type: resize, size: 800, max_size: -5}]",
      "transforms: [{type: resize, size: big}]",
      "transforms: [{type: resize}]",
      "transforms: [{type: random_resize, sizes: [480, -512]}]",
      "transforms: [{type: random_resize, sizes: []}]",
      "transforms: [{type: random_size_crop, min_size: -1, max_size: 10}]",
      "transforms: [{type: random_size_crop, min_size: 100, max_size: 10}]",
      "transforms: [{type: pad, size: [-1, 10]}]",
      "transforms: [{type: pad, size_divisor: -32}]",
      "transforms: [{type: pad}]",
      "transforms: [{type: random_horizontal_flip, p: 1.5}]",
      "transforms: [{type: color_jitter, brightness: -0.1}]",
      "transforms: [{type: color_jitter, hue: 0.7}]",
  };
  for (const char* y : bad) EXPECT_FALSE(parse_error(y).empty()) << y;
  EXPECT_NE(parse_error(bad[0]).find("transforms[0].size"), std::string::npos) << parse_error(bad[0]);
  EXPECT_TRUE(parse_error("transforms: [{type: resize, size: 800, max_size: 1333}, {type: pad, size_divisor: 32}]").empty());
}

}  // namespace
}  // namespace seer_test_test_transforms
}  // namespace seer
