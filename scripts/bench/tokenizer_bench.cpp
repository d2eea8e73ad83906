// Times seer's tokenizers over a file of captions (one per line); driven by
// bench_tokenizers.py, which compares against the official Python tokenizers.
// Prints one JSON line: CPU seconds and an id checksum per tokenizer.
#include <ctime>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "text/clip_bpe.h"
#include "text/wordpiece.h"

// CPU seconds of this process: the machine may be shared, and wall time would
// measure the neighbours too. The Python side uses time.process_time() likewise.
template <class F>
double seconds(F fn) {
  const std::clock_t t0 = std::clock();
  fn();
  return static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
}

// Same checksum as the Python side: sum over captions and tokens of id * (position + 1), mod 2^61-1.
template <class Tok>
unsigned long long checksum_run(const Tok& tok, const std::vector<std::string>& lines) {
  unsigned long long sum = 0;
  for (const auto& line : lines) {
    const auto pieces = tok.tokenize(line);
    for (size_t i = 0; i < pieces.size(); ++i)
      sum = (sum + static_cast<unsigned long long>(pieces[i].id) * (i + 1)) % 2305843009213693951ULL;
  }
  return sum;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: tokenizer_bench CAPTIONS.txt BERT_VOCAB CLIP_BPE\n");
    return 2;
  }
  std::vector<std::string> lines;
  std::ifstream in(argv[1]);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  seer::text::WordPieceTokenizer bert(argv[2]);
  seer::text::ClipTokenizer clip(argv[3]);
  unsigned long long bsum = 0, csum = 0;
  const double bt = seconds([&] { bsum = checksum_run(bert, lines); });
  const double ct = seconds([&] { csum = checksum_run(clip, lines); });
  std::printf("{\"n\": %zu, \"bert_s\": %.4f, \"clip_s\": %.4f, \"bert_sum\": %llu, \"clip_sum\": %llu}\n", lines.size(), bt,
              ct, bsum, csum);
  return 0;
}
