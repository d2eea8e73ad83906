// The one place that finds how a transform list normalises images (to draw them back).
#include <gtest/gtest.h>

#include "data/transform_ops.h"
namespace seer_test_test_image_normalisation {

using namespace seer;

TEST(ImageNormalisation, TakenFromTheListsNormalizeElseIdentity) {
  TransformList none;
  ImageNormalisation id = image_normalisation(none);
  EXPECT_EQ(id.mean, (std::array<double, 3>{0, 0, 0}));
  EXPECT_EQ(id.std, (std::array<double, 3>{1, 1, 1}));
  TransformList list{std::make_shared<Normalize>(std::array<double, 3>{0.5, 0.4, 0.3}, std::array<double, 3>{0.2, 0.25, 0.3})};
  ImageNormalisation n = image_normalisation(list);
  EXPECT_EQ(n.mean, (std::array<double, 3>{0.5, 0.4, 0.3}));
  EXPECT_EQ(n.std, (std::array<double, 3>{0.2, 0.25, 0.3}));
}

}  // namespace seer_test_test_image_normalisation
