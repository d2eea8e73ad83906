#include "train/eval_gather.h"

#include <torch/torch.h>

#include <algorithm>
#include <unordered_set>

#include "core/distributed.h"
#include "core/checkpoint.h"
#include "core/error.h"

namespace seer {

namespace {

using IDict = c10::impl::GenericDict;


void put(IDict& d, const char* key, const torch::Tensor& t) {
  if (t.defined()) d.insert(key, t.cpu());
}
torch::Tensor take(const IDict& d, const char* key) {
  return d.contains(key) ? d.at(key).toTensor() : torch::Tensor();
}

IDict encode_prediction(const Prediction& p) {
  IDict d = empty_ivalue_dict();
  put(d, "boxes", p.boxes);
  put(d, "scores", p.scores);
  put(d, "labels", p.labels);
  put(d, "masks", p.masks);
  put(d, "tag_scores", p.tag_scores);
  c10::List<std::string> phrases;
  for (const auto& s : p.phrases) phrases.push_back(s);
  d.insert("phrases", phrases);
  d.insert("image_id", p.image_id);
  return d;
}

Prediction decode_prediction(const IDict& d) {
  Prediction p;
  p.boxes = take(d, "boxes");
  p.scores = take(d, "scores");
  p.labels = take(d, "labels");
  p.masks = take(d, "masks");
  p.tag_scores = take(d, "tag_scores");
  for (const auto& s : d.at("phrases").toList()) p.phrases.push_back(s.get().toStringRef());
  p.image_id = d.at("image_id").toInt();
  return p;
}

IDict encode_target(const Target& t) {
  IDict d = empty_ivalue_dict();
  put(d, "boxes", t.boxes);
  put(d, "labels", t.labels);
  put(d, "masks", t.masks);
  put(d, "iscrowd", t.iscrowd);
  put(d, "area", t.area);
  put(d, "tags", t.tags);
  d.insert("caption", t.caption);
  // tokens_positive as rows (box, begin, end), plus the box count (a box may have no span)
  std::vector<int64_t> spans;
  for (size_t b = 0; b < t.tokens_positive.size(); ++b)
    for (const auto& s : t.tokens_positive[b]) spans.insert(spans.end(), {static_cast<int64_t>(b), s.begin, s.end});
  d.insert("tokens_positive", torch::tensor(spans, torch::kInt64).reshape({-1, 3}));
  d.insert("tokens_positive_boxes", static_cast<int64_t>(t.tokens_positive.size()));
  d.insert("image_id", t.image_id);
  d.insert("orig_size", c10::List<int64_t>({t.orig_size[0], t.orig_size[1]}));
  d.insert("size", c10::List<int64_t>({t.size[0], t.size[1]}));
  d.insert("file_name", t.file_name);
  return d;
}

Target decode_target(const IDict& d) {
  Target t;
  t.boxes = take(d, "boxes");
  t.labels = take(d, "labels");
  t.masks = take(d, "masks");
  t.iscrowd = take(d, "iscrowd");
  t.area = take(d, "area");
  t.tags = take(d, "tags");
  t.caption = d.at("caption").toStringRef();
  t.tokens_positive.resize(static_cast<size_t>(d.at("tokens_positive_boxes").toInt()));
  auto spans = d.at("tokens_positive").toTensor().contiguous();
  auto a = spans.accessor<int64_t, 2>();
  for (int64_t i = 0; i < spans.size(0); ++i) t.tokens_positive.at(static_cast<size_t>(a[i][0])).push_back({a[i][1], a[i][2]});
  t.image_id = d.at("image_id").toInt();
  auto o = d.at("orig_size").toIntList(), s = d.at("size").toIntList();
  t.orig_size = {o[0], o[1]};
  t.size = {s[0], s[1]};
  t.file_name = d.at("file_name").toStringRef();
  return t;
}

}  // namespace

std::string encode_eval_items(const EvalItems& items) {
  if (items.predictions.size() != items.targets.size())
    throw RuntimeError("encode_eval_items: " + std::to_string(items.predictions.size()) + " predictions for " +
                       std::to_string(items.targets.size()) + " targets");
  c10::impl::GenericList list(c10::AnyType::get());
  for (size_t i = 0; i < items.targets.size(); ++i) {
    IDict pair = empty_ivalue_dict();
    pair.insert("prediction", encode_prediction(items.predictions[i]));
    pair.insert("target", encode_target(items.targets[i]));
    list.push_back(pair);
  }
  std::vector<char> bytes = torch::pickle_save(c10::IValue(list));
  return std::string(bytes.begin(), bytes.end());
}

EvalItems decode_eval_items(const std::string& bytes) {
  EvalItems items;
  c10::IValue v;
  try {
    v = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    std::string msg = e.what();
    throw RuntimeError("distributed evaluation: cannot decode a worker's predictions (" + msg.substr(0, msg.find('\n')) +
                       ")");
  }
  for (const auto& item : v.toList()) {
    auto pair = item.get().toGenericDict();
    items.predictions.push_back(decode_prediction(pair.at("prediction").toGenericDict()));
    items.targets.push_back(decode_target(pair.at("target").toGenericDict()));
  }
  return items;
}

EvalItems gather_eval_items(EvalItems mine) {
  if (!dist::distributed()) return mine;
  std::vector<std::string> all = dist::all_gather_bytes(encode_eval_items(mine));
  mine = {};
  if (!dist::is_main()) return mine;
  std::vector<EvalItems> per_rank;
  size_t longest = 0;
  for (const auto& bytes : all) {
    per_rank.push_back(decode_eval_items(bytes));
    longest = std::max(longest, per_rank.back().targets.size());
  }
  EvalItems out;
  std::unordered_set<int64_t> seen;
  for (size_t k = 0; k < longest; ++k)
    for (auto& r : per_rank) {
      if (k >= r.targets.size()) continue;
      Prediction& p = r.predictions[k];
      Target& t = r.targets[k];
      const int64_t id = p.image_id >= 0 ? p.image_id : t.image_id;
      if (id >= 0 && !seen.insert(id).second) continue;  // the sampler's padding
      out.predictions.push_back(std::move(p));
      out.targets.push_back(std::move(t));
    }
  return out;
}

}  // namespace seer
