// Loader mechanics on an in-memory dataset: order, determinism across worker
// counts, distributed shares, on_error, aspect-ratio grouping, mid-epoch resume.
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "core/error.h"
#include "data/collate.h"
#include "data/loader.h"
#include "data/transforms.h"
namespace seer_test_test_loader {

using namespace seer;

namespace {

// Image i is (10 + i % 3) x (12 + i % 5), filled with value i; image `bad` throws.
class ToyDataset : public Dataset {
 public:
  explicit ToyDataset(int64_t n, int64_t bad = -1) : n_(n), bad_(bad) { cats_.add(1, "thing"); }
  int64_t size() const override { return n_; }
  Sample get(int64_t i) const override {
    if (i == bad_) throw DataError("toy image " + std::to_string(i) + ": cannot be decoded");
    Sample s;
    auto hw = image_size(i);
    s.image = cv::Mat(static_cast<int>(hw[0]), static_cast<int>(hw[1]), CV_8UC3, cv::Scalar(i % 256, 0, 0));
    s.target.boxes = torch::tensor({{1.f, 1.f, 5.f, 5.f}});
    s.target.labels = torch::tensor({int64_t{0}});
    s.target.image_id = i;
    s.target.orig_size = hw;
    return s;
  }
  std::array<int64_t, 2> image_size(int64_t i) const override {
    // portrait for multiples of 4, landscape otherwise
    return i % 4 == 0 ? std::array<int64_t, 2>{20, 10} : std::array<int64_t, 2>{10 + i % 3, 12 + i % 5};
  }
  const CategoryTable& categories() const override { return cats_; }
  std::string describe() const override { return "toy"; }

 private:
  int64_t n_, bad_;
  CategoryTable cats_;
};

// Adds a per-sample random number to the image so augmentation randomness is visible.
class RandomShift : public Transform {
 public:
  void apply(Sample& s, SampleRng& rng) const override {
    s.target.boxes = s.target.boxes + static_cast<float>(rng.uniform());
  }
  std::string name() const override { return "random_shift"; }
};

std::vector<std::pair<int64_t, float>> run_epoch(Loader& loader, int64_t epoch) {
  std::vector<std::pair<int64_t, float>> seen;
  loader.start_epoch(epoch);
  while (auto b = loader.next())
    for (const auto& t : b->targets) seen.emplace_back(t.image_id, t.boxes[0][0].item<float>());
  return seen;
}

LoaderOptions opts(int workers, int64_t bs = 3) {
  LoaderOptions o;
  o.batch_size = bs;
  o.num_workers = workers;
  o.seed = 7;
  return o;
}

}  // namespace

TEST(Collate, PadsBottomRightAndMasksPadding) {
  std::vector<Sample> s(2);
  s[0].image = cv::Mat(4, 6, CV_8UC3, cv::Scalar(255, 0, 0));
  s[1].image = cv::Mat(5, 3, CV_8UC3, cv::Scalar(0, 255, 0));
  Batch b = collate(std::move(s), 4);
  EXPECT_EQ(b.images.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
  EXPECT_FLOAT_EQ(b.images[0][0][3][5].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(b.images[0][0][4][5].item<float>(), 0.0f);
  EXPECT_FALSE(b.pad_mask[0][3][5].item<bool>());
  EXPECT_TRUE(b.pad_mask[0][4][0].item<bool>());
  EXPECT_TRUE(b.pad_mask[1][0][3].item<bool>());
  EXPECT_EQ(b.targets[1].size, (std::array<int64_t, 2>{5, 3}));
  EXPECT_EQ(b.pad_mask.sum().item<int64_t>(), 2 * 64 - 24 - 15);
}

TEST(Loader, CoversEveryIndexOnceAndShufflesByEpoch) {
  auto ds = std::make_shared<ToyDataset>(10);
  Loader loader(ds, {}, opts(2));
  auto e0 = run_epoch(loader, 0), e1 = run_epoch(loader, 1);
  std::set<int64_t> ids;
  for (auto& p : e0) ids.insert(p.first);
  EXPECT_EQ(ids.size(), 10u);
  EXPECT_EQ(e0.size(), 10u);
  EXPECT_NE(e0, e1);
  EXPECT_EQ(loader.batches_per_epoch(), 4);
}

TEST(Loader, SameBatchesWhateverTheWorkerCount) {
  auto ds = std::make_shared<ToyDataset>(23);
  TransformList tl{std::make_shared<RandomShift>()};
  Loader l0(ds, tl, opts(0)), l1(ds, tl, opts(1)), l2(ds, tl, opts(2));
  for (int64_t epoch : {0, 3}) {
    auto a = run_epoch(l0, epoch), b = run_epoch(l1, epoch), c = run_epoch(l2, epoch);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, c);
  }
}

TEST(Loader, DistributedRanksSplitTheEpochLikeDistributedSampler) {
  auto ds = std::make_shared<ToyDataset>(11);
  TransformList tl{std::make_shared<RandomShift>()};
  LoaderOptions o0 = opts(1, 2), o1 = opts(1, 2);
  o0.world_size = o1.world_size = 2;
  o1.rank = 1;
  Loader r0(ds, tl, o0), r1(ds, tl, o1), single(ds, tl, opts(1, 2));
  auto a = run_epoch(r0, 2), b = run_epoch(r1, 2), all = run_epoch(single, 2);
  EXPECT_EQ(a.size(), 6u);  // ceil(11 / 2): padded by repeating the first index
  EXPECT_EQ(b.size(), 6u);
  std::multiset<int64_t> both;
  for (auto& p : a) both.insert(p.first);
  for (auto& p : b) both.insert(p.first);
  std::set<int64_t> uniq(both.begin(), both.end());
  EXPECT_EQ(uniq.size(), 11u);
  // each sample's augmentation depends on (seed, epoch, index) only
  std::map<int64_t, float> ref;
  for (auto& p : all) ref[p.first] = p.second;
  for (auto& p : a) EXPECT_FLOAT_EQ(p.second, ref[p.first]);
  for (auto& p : b) EXPECT_FLOAT_EQ(p.second, ref[p.first]);
}

TEST(Loader, SkipDropsBrokenSamplesAndCountsThem) {
  auto ds = std::make_shared<ToyDataset>(9, /*bad=*/4);
  Loader loader(ds, {}, opts(2));
  auto seen = run_epoch(loader, 0);
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_EQ(loader.skipped_samples(), 1);
}

TEST(Loader, FailStopsWithTheSampleInTheMessage) {
  auto ds = std::make_shared<ToyDataset>(9, /*bad=*/4);
  for (int workers : {0, 2}) {
    LoaderOptions o = opts(workers);
    o.on_error = OnError::Fail;
    Loader loader(ds, {}, o);
    loader.start_epoch(0);
    try {
      while (loader.next()) {
      }
      FAIL() << "expected DataError";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find("toy image 4"), std::string::npos) << e.what();
    }
  }
}

TEST(Loader, AspectRatioGroupingKeepsOrientationsApart) {
  // 22 images: 0, 4, 8, 12, 16, 20 portrait and 5 square (grouped with the
  // portraits, as not wider than high), the other 15 landscape
  auto ds = std::make_shared<ToyDataset>(22);
  auto landscape = [&](int64_t i) { return ds->image_size(i)[1] > ds->image_size(i)[0]; };
  LoaderOptions o = opts(1, 2);
  o.aspect_ratio_grouping = true;
  Loader loader(ds, {}, o);
  const auto plan = loader.epoch_plan(0);
  // batches of 2 of one orientation; each orientation's odd one out comes last:
  // ceil(15 / 2) landscape + ceil(7 / 2) portrait batches
  int64_t n_landscape = 0;
  for (int64_t i = 0; i < 22; ++i) n_landscape += landscape(i);
  ASSERT_EQ(n_landscape, 15);
  ASSERT_EQ(plan.size(), 12u);
  for (size_t b = 0; b < plan.size(); ++b) {
    ASSERT_FALSE(plan[b].empty()) << "batch " << b;
    std::set<bool> orient;
    for (int64_t i : plan[b]) orient.insert(landscape(i));
    EXPECT_EQ(orient.size(), 1u) << "batch " << b;
    EXPECT_EQ(plan[b].size(), b < 10 ? 2u : 1u) << "batch " << b;
  }
  // every image exactly once
  std::multiset<int64_t> seen;
  for (const auto& batch : plan) seen.insert(batch.begin(), batch.end());
  std::multiset<int64_t> all;
  for (int64_t i = 0; i < 22; ++i) all.insert(i);
  EXPECT_EQ(seen, all);
  // grouping only partitions the epoch's shuffled order, it does not reorder it
  o.aspect_ratio_grouping = false;
  std::vector<int64_t> order[2], grouped[2];
  for (const auto& batch : Loader(ds, {}, o).epoch_plan(0))
    for (int64_t i : batch) order[landscape(i)].push_back(i);
  for (const auto& batch : plan)
    for (int64_t i : batch) grouped[landscape(i)].push_back(i);
  EXPECT_EQ(grouped[0], order[0]);
  EXPECT_EQ(grouped[1], order[1]);
  std::vector<int64_t> identity(22);
  std::iota(identity.begin(), identity.end(), 0);
  std::vector<int64_t> flat;
  for (const auto& batch : Loader(ds, {}, o).epoch_plan(0)) flat.insert(flat.end(), batch.begin(), batch.end());
  EXPECT_NE(flat, identity) << "the training plan is shuffled";
}

TEST(Loader, ResumeMidEpochYieldsTheRemainingBatches) {
  auto ds = std::make_shared<ToyDataset>(12);
  TransformList tl{std::make_shared<RandomShift>()};
  Loader full(ds, tl, opts(2)), resumed(ds, tl, opts(2));
  auto all = run_epoch(full, 5);
  resumed.start_epoch(5, /*skip_batches=*/2);
  std::vector<std::pair<int64_t, float>> rest;
  while (auto b = resumed.next())
    for (const auto& t : b->targets) rest.emplace_back(t.image_id, t.boxes[0][0].item<float>());
  std::vector<std::pair<int64_t, float>> expected(all.begin() + 6, all.end());
  EXPECT_EQ(rest, expected);
}

}  // namespace seer_test_test_loader
