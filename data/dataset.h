#pragma once
// The dataset interface and the table of on-disk formats.
//
// A dataset is a random-access list of samples. Annotations are read when it is
// built; images are decoded in get(), which the loader calls from worker threads
// (so get() must be thread-safe and must not mutate shared state).
#include <array>
#include <functional>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/types.h"
#include "data/sample.h"

namespace seer {

// What to do with a broken record or image (data.on_error).
enum class OnError { Skip, Fail };
OnError parse_on_error(const std::string& s);  // "skip" | "fail"

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Decode image `index` and build its target (pixels of the decoded image).
  // A broken image or record throws DataError naming the file and record.
  virtual Sample get(int64_t index) const = 0;
  // (h, w) of image `index` when known without decoding (for aspect-ratio
  // grouping), {0, 0} otherwise.
  virtual std::array<int64_t, 2> image_size(int64_t index) const = 0;
  virtual const CategoryTable& categories() const = 0;
  // Short description for logs, e.g. "coco(instances_val2017.json, 5000 images)".
  virtual std::string describe() const = 0;
  // Records dropped while reading annotations under on_error: skip.
  int64_t skipped_records() const { return skipped_records_; }

 protected:
  int64_t skipped_records_ = 0;
};

// Things every dataset reader needs besides its own keys.
struct DatasetContext {
  std::string root;       // data.root: base of relative paths ("" = relative to the cwd)
  OnError on_error = OnError::Skip;
  std::string split;      // "train" or "val" (the synthetic generator seeds by it)
};

// Reading a dataset section declares and validates its keys at once (cheap:
// no file is opened) and returns a builder that loads it later.
using DatasetBuilder = std::function<std::shared_ptr<Dataset>()>;
// `section` is e.g. data.train.dataset; dispatches on its `type` key.
DatasetBuilder read_dataset(const ConfigSection& section, const DatasetContext& ctx);

}  // namespace seer
