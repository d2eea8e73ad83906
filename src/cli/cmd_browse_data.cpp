// seer browse-data: run a split through the data pipeline (decode, transforms,
// collate) with the configured workers, report throughput, and optionally draw
// what the model would see, targets included.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/visualize.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "data/transform_ops.h"
#include "cli/resolve.h"

namespace seer::cli {

int run_browse_data(const Args& args) {
  ResolvedConfig r = resolve_config(args.positional(0), args.all("--set"));
  std::string split = args.get("--split", "train");
  if (split != "train" && split != "val") throw UsageError("--split expects train or val, got '" + split + "'");
  const auto& spec = split == "train" ? r.data.train : r.data.val;
  if (!spec) throw ConfigError(r.config.file() + ": the config has no data." + split + " section");
  int num = args.get_int("--num", 16);
  if (num < 1) throw UsageError("--num must be >= 1");

  auto dataset = spec->build_dataset();
  log().info("{}: {}", split, dataset->describe());
  Loader loader(dataset, spec->transforms, spec->loader);
  loader.start_epoch(0);

  std::string out = args.get("--out");
  const bool raw = args.has("--raw");
  if (!out.empty()) std::filesystem::create_directories(out);
  const ImageNormalisation norm = image_normalisation(spec->transforms);  // undone when drawing

  const int64_t total = std::min<int64_t>(num, dataset->size());
  Progress progress("browse-data", total);
  int64_t seen = 0, boxes = 0, drawn = 0;
  double wait = 0;
  while (seen < total) {
    auto batch = loader.next();
    if (!batch) break;
    wait += loader.last_wait_seconds();
    for (int64_t i = 0; i < batch->size() && seen < total; ++i, ++seen) {
      const Target& t = batch->targets[i];
      boxes += t.num_boxes();
      if (!out.empty()) {
        auto img = batch->images[i].narrow(1, 0, t.size[0]).narrow(2, 0, t.size[1]);
        cv::Mat rgb = tensor_to_rgb(img, norm.mean, norm.std);
        write_image_rgb((std::filesystem::path(out) / ("sample_" + std::to_string(seen) + ".jpg")).string(),
                        raw ? rgb : draw_target(rgb, t, dataset->categories()));
        ++drawn;
      }
    }
    progress.update(seen);
  }
  progress.finish();
  double secs = progress.elapsed();
  std::cout << "split " << split << ": " << seen << " images, " << boxes << " boxes, " << loader.skipped_samples()
            << " skipped, " << spec->loader.num_workers << " workers, " << secs << " s, " << (seen / std::max(secs, 1e-9))
            << " images/s" << (drawn ? ", drawn into " + out : "") << "\n";
  return 0;
}

}  // namespace seer::cli
