// seer tokenize: show how the BERT WordPiece or CLIP BPE tokenizer splits a text.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "text/clip_bpe.h"
#include "text/wordpiece.h"

namespace seer::cli {

int run_tokenize(const Args& args) {
  const std::string name = args.get("--tokenizer");
  const std::string vocab = args.get("--vocab");
  const std::string text = args.get("--text");
  if (name != "bert" && name != "clip")
    throw UsageError("--tokenizer must be 'bert' or 'clip', got '" + name + "'");
  if (text.empty()) throw UsageError("--text is empty: nothing to tokenize");

  text::Encoding enc;
  if (name == "bert") {
    enc = text::WordPieceTokenizer(vocab).encode(text);
  } else {
    // clip.tokenize() semantics (context length 77, an error when longer), unpadded.
    text::EncodeOptions opts = text::ClipTokenizer::default_options();
    opts.pad_to_max_length = false;
    enc = text::ClipTokenizer(vocab).encode(text, opts);
  }

  if (args.has("--json")) {
    nlohmann::json j;
    j["ids"] = enc.ids;
    j["tokens"] = enc.tokens;
    auto offsets = nlohmann::json::array();
    for (const auto& o : enc.offsets) offsets.push_back({o.begin, o.end});
    j["offsets"] = offsets;
    std::cout << j.dump() << "\n";
    return 0;
  }
  // One row per token: position, id, token, byte offsets and the original text they cover.
  std::printf("%zu tokens (%s)\n", enc.ids.size(), name.c_str());
  for (size_t i = 0; i < enc.ids.size(); ++i) {
    const auto& o = enc.offsets[i];
    const std::string covered = o.end > o.begin ? text.substr(o.begin, o.end - o.begin) : "";
    std::printf("%4zu %7lld  %-20s [%lld, %lld) %s\n", i, static_cast<long long>(enc.ids[i]), enc.tokens[i].c_str(),
                static_cast<long long>(o.begin), static_cast<long long>(o.end), covered.c_str());
  }
  if (enc.eot_position >= 0) std::printf("end token at position %lld\n", static_cast<long long>(enc.eot_position));
  return 0;
}

}  // namespace seer::cli
