// seer train / eval / predict / export on a tiny Grounding DINO through the
// binary: phrases from --text, category predictions without it, the exported
// TorchScript forms, and the errors a user meets (bad prompts, a checkpoint
// of the other family).
#include <gtest/gtest.h>
#include <torch/script.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/checkpoint.h"
#include "test_util.h"

namespace seer_test_test_grounding_dino_cli {

namespace fs = std::filesystem;
using seer::test::CliResult;

namespace {

const char* kVocab = "tokenizers/bert-base-uncased-vocab.txt";

CliResult run(const std::string& args) { return seer::test::run_seer(args); }
std::string config() { return seer::test::source_path("tests/cli/gdino_tiny.yaml"); }
int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

struct TinyRun {
  std::string dir, ckpt, vocab_set, image;
  int code = -1;
  std::string out;
  TinyRun() {
    dir = seer::test::temp_dir("gdino_cli");
    fs::create_directories(dir);
    vocab_set = " --set model.text_encoder.vocab=" + seer::test::data_file(kVocab);
    CliResult r = run("train " + config() + vocab_set + " --work-dir " + dir + "/run");
    code = r.code;
    out = r.out;
    ckpt = dir + "/run/checkpoints/last.pt";
    image = dir + "/x.jpg";
    cv::imwrite(image, cv::Mat(48, 64, CV_8UC3, cv::Scalar(40, 120, 200)));
  }
};
const TinyRun& tiny() {
  static TinyRun run;
  return run;
}

}  // namespace

TEST(GroundingDinoCli, ShippedConfigsResolve) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  for (const auto& e : fs::directory_iterator(seer::test::source_path("configs/grounding_dino"))) {
    // the Swin configs' training data runs grounding_caption first, whose
    // vocabulary path is relative to the repository too
    const bool swin = e.path().filename().string().find("swin") != std::string::npos;
    CliResult r = run("config " + e.path().string() + " --set model.text_encoder.vocab=" + vocab +
                      (swin ? " data.train.transforms[0].vocab=" + vocab : std::string()));
    EXPECT_EQ(r.code, 0) << e.path() << "\n" << r.out;
    EXPECT_NE(r.out.find("type: grounding_dino"), std::string::npos) << e.path();
  }
}

TEST(GroundingDinoCli, TrainPredictWithAndWithoutText) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  const auto& t = tiny();
  ASSERT_EQ(t.code, 0) << t.out;
  // metrics of the run
  std::ifstream m(t.dir + "/run/metrics.jsonl");
  std::string line;
  bool interm = false;
  while (std::getline(m, line))
    if (line.find("loss_ce_interm") != std::string::npos) interm = true;
  EXPECT_TRUE(interm);

  // a free prompt: phrases; the checkpoint's config is used (no CONFIG given)
  CliResult r = run("predict --weights " + t.ckpt + " --image " + t.image + " --text 'circle . red square' --out " +
                    t.dir + "/p.json --set predict.score_threshold=0");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(std::ifstream(t.dir + "/p.json"));
  ASSERT_EQ(j.size(), 1u);
  ASSERT_TRUE(j[0].contains("phrases")) << j.dump();
  EXPECT_EQ(j[0]["phrases"].size(), 10u);  // every query (score threshold 0)
  EXPECT_EQ(j[0]["boxes"].size(), 10u);

  // no prompt: the dataset's categories
  r = run("predict --weights " + t.ckpt + " --image " + t.image + " --out " + t.dir + "/c.json --set predict.score_threshold=0");
  ASSERT_EQ(r.code, 0) << r.out;
  auto c = nlohmann::json::parse(std::ifstream(t.dir + "/c.json"));
  EXPECT_FALSE(c[0].contains("phrases"));
  EXPECT_EQ(c[0]["labels"].size(), 30u);  // num_select capped at queries x categories
  for (const auto& name : c[0]["label_names"]) EXPECT_TRUE(name == "circle" || name == "square" || name == "triangle");
}

TEST(GroundingDinoCli, ExportsClosedAndOpenVocabularyTorchScript) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  const auto& t = tiny();
  ASSERT_EQ(t.code, 0) << t.out;
  CliResult r = run("export --weights " + t.ckpt + " --format torchscript --image-size 64x64 --text 'circle . square .' --out " +
                    t.dir + "/closed.pt");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run("export --weights " + t.ckpt + " --format torchscript --image-size 64x64 --out " + t.dir + "/open.pt");
  ASSERT_EQ(r.code, 0) << r.out;
  torch::NoGradGuard ng;
  auto images = torch::randn({1, 3, 64, 64});
  auto mask = torch::zeros({1, 64, 64}, torch::kBool);
  auto closed = torch::jit::load(t.dir + "/closed.pt");
  auto out = closed.forward({images, mask}).toTuple()->elements();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].toTensor().sizes(), (std::vector<int64_t>{1, 10, 256}));
  EXPECT_EQ(out[1].toTensor().sizes(), (std::vector<int64_t>{1, 10, 4}));
  // "circle . square ." = [CLS] circle . square . [SEP]: 6 real columns
  auto logits = out[0].toTensor();
  EXPECT_TRUE(torch::isfinite(logits.slice(2, 0, 6)).all().item<bool>());
  EXPECT_TRUE(torch::isinf(logits.slice(2, 6, 256)).all().item<bool>());
  // the open module takes the tokens; the same prompt gives the same logits
  auto open = torch::jit::load(t.dir + "/open.pt");
  // (tokens padded to max_text_len 256: tracing fixes every size)
  auto ids = torch::zeros({1, 256}, torch::kLong);
  ids.slice(1, 0, 6).copy_(torch::tensor({{101, 4418, 1012, 2675, 1012, 102}}, torch::kLong));
  auto tok_mask = torch::zeros({1, 256}, torch::kBool);
  tok_mask.slice(1, 0, 6).fill_(true);
  auto pos = torch::zeros({1, 256}, torch::kLong);
  pos.slice(1, 0, 6).copy_(torch::tensor({{0, 0, 1, 0, 1, 0}}, torch::kLong));
  auto sa = torch::eye(256, torch::kBool).unsqueeze(0).clone();
  sa[0].slice(0, 1, 3).slice(1, 1, 3).fill_(true);
  sa[0].slice(0, 3, 5).slice(1, 3, 5).fill_(true);
  auto out2 = open.forward({images, mask, ids, tok_mask, pos, sa}).toTuple()->elements();
  EXPECT_TRUE(torch::allclose(out2[0].toTensor().slice(2, 0, 6), logits.slice(2, 0, 6), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(out2[1].toTensor(), out[1].toTensor(), 1e-5, 1e-5));

  // safetensors and .pth: official names, the shared box head under all its names
  r = run("export --weights " + t.ckpt + " --format safetensors --out " + t.dir + "/w.safetensors");
  ASSERT_EQ(r.code, 0) << r.out;
  auto w = seer::read_weights(t.dir + "/w.safetensors");
  for (const char* k : {"bbox_embed.0.layers.0.weight", "bbox_embed.1.layers.0.weight",
                        "transformer.decoder.bbox_embed.1.layers.2.bias", "bert.embeddings.word_embeddings.weight",
                        "transformer.encoder.fusion_layers.0.gamma_v"})
    EXPECT_TRUE(w.tensors.contains(k)) << k;
}

TEST(GroundingDinoCli, BadPromptsAndWrongFamiliesAreOneLineErrors) {
  SEER_REQUIRE_DATA(vocab, kVocab);
  const auto& t = tiny();
  ASSERT_EQ(t.code, 0) << t.out;
  const std::string pred = "predict " + config() + t.vocab_set + " --weights " + t.ckpt + " --image " + t.image + " --out " + t.dir + "/e.json";
  for (const auto& [text, what] : std::vector<std::pair<std::string, std::string>>{
           {"''", "the prompt is empty"}, {"' . . ?'", "has no word to ground"}}) {
    CliResult r = run(pred + " --text " + text);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_EQ(lines(r.out), 1) << r.out;
    EXPECT_NE(r.out.find(what), std::string::npos) << r.out;
  }
  std::string words;
  for (int i = 0; i < 300; ++i) words += "cat ";
  CliResult r = run(pred + " --text '" + words + "'");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("over the budget of 256, and has no ' . ' separators"), std::string::npos) << r.out;
  std::string long_phrase = "cat . " + words + ". dog .";  // separators, but one phrase alone is too long
  r = run(pred + " --text '" + long_phrase + "'");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("cannot be chunked"), std::string::npos) << r.out;
  r = run("export --weights " + t.ckpt + " --format safetensors --text 'cat .' --out " + t.dir + "/x.safetensors");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("only a torchscript export bakes a prompt"), std::string::npos) << r.out;

  // a Grounding DINO state dict (official names, no family written) given to DETR, and the reverse
  r = run("export --weights " + t.ckpt + " --format pth --out " + t.dir + "/gd.pth");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string detr = seer::test::source_path("tests/cli/detr_tiny.yaml");
  r = run("eval " + detr + " --weights " + t.dir + "/gd.pth");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.out.find('\n', r.out.find("seer: error:")), r.out.size() - 1) << "one error line: " << r.out;
  EXPECT_NE(r.out.find("official 'grounding_dino' checkpoint; the config's model is 'detr'"), std::string::npos) << r.out;
  r = run("train " + detr + " --work-dir " + t.dir + "/detr_run --set schedule.max_iters=1");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run("export --weights " + t.dir + "/detr_run/checkpoints/last.pt --format pth --out " + t.dir + "/detr.pth");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run("eval " + config() + t.vocab_set + " --weights " + t.dir + "/detr.pth");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("official 'detr' checkpoint; the config's model is 'grounding_dino'"), std::string::npos) << r.out;
  // and a seer checkpoint names its family
  r = run("eval " + detr + " --weights " + t.ckpt);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("a 'grounding_dino' checkpoint cannot be loaded into the config's 'detr' model"), std::string::npos)
      << r.out;
}

}  // namespace seer_test_test_grounding_dino_cli
