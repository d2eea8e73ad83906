#!/usr/bin/python3
"""Tokenise N short captions with seer's tokenizers and with the official Python ones
(google-research/bert tokenization.py, openai/CLIP simple_tokenizer.py) on this
machine, check both produce the same ids, and print the speed ratios.

    /usr/bin/python3 scripts/bench/bench_tokenizers.py --build build-text \\
        --ref /tmp/ref --vocab-dir ../shared/data/tokenizers [--n 100000]

--ref is a folder holding the two reference files (fetched, never committed).
The C++ driver (scripts/bench/tokenizer_bench.cpp; also the CMake target
`tokenizer_bench`) is compiled here with g++ against the build folder's
libseer_core.a: the tokenizers need neither torch nor the rest of seer.
Both sides run single-threaded, and both cache CLIP's per-word BPE as the reference does.
Times are CPU seconds of each process (the build machine is shared; wall time would
count the neighbours), vocabulary loading excluded on both sides.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))
from make_text_fixtures import load_references  # noqa: E402

WORDS = dict(
    det=["a", "the", "two", "three", "some", "an old", "a small", "a large"],
    adj=["red", "blue", "wooden", "striped", "happy", "tall", "tiny", "shiny", "fluffy", "rusty", "white"],
    noun=["cat", "dog", "man", "woman", "giraffe", "bus", "table", "umbrella", "kite", "surfboard", "pizza",
          "laptop", "bicycle", "traffic light", "zebra", "child", "horse", "building", "boat", "skateboarder"],
    verb=["sitting on", "standing next to", "riding", "holding", "looking at", "walking past", "lying under"],
    place=["in the park", "on a street", "near the beach", "at night", "in a kitchen", "on the left", "."],
)


def captions(n, seed=0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        w = {k: rng.choice(v) for k, v in WORDS.items()}
        out.append("%s %s %s %s a %s %s" % (w["det"], w["adj"], w["noun"], w["verb"], rng.choice(WORDS["noun"]),
                                          w["place"]))
    return out


def checksum(ids_per_line):
    s = 0
    for ids in ids_per_line:
        for i, t in enumerate(ids):
            s = (s + t * (i + 1)) % 2305843009213693951
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-text"))
    ap.add_argument("--ref", required=True)
    ap.add_argument("--vocab-dir", required=True)
    ap.add_argument("--n", type=int, default=100000)
    args = ap.parse_args()
    bert_vocab = os.path.join(args.vocab_dir, "bert-base-uncased-vocab.txt")
    clip_bpe = os.path.join(args.vocab_dir, "bpe_simple_vocab_16e6.txt.gz")

    lines = captions(args.n)
    tmp = tempfile.mkdtemp(prefix="seer_tok_bench_")
    cap_file = os.path.join(tmp, "captions.txt")
    with open(cap_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    exe = os.path.join(tmp, "tokenizer_bench")
    subprocess.check_call(["g++", "-std=c++17", "-O2", "-I", os.path.join(ROOT, "src"), "-I", ROOT,
                           os.path.join(HERE, "tokenizer_bench.cpp"), os.path.join(args.build, "libseer_core.a"),
                           "-lz", "-o", exe])
    cpp = json.loads(subprocess.check_output([exe, cap_file, bert_vocab, clip_bpe]))

    tok, st = load_references(args.ref, args.ref)
    bert = tok.FullTokenizer(bert_vocab, do_lower_case=True)
    bert.wordpiece_tokenizer.max_input_chars_per_word = 100
    clip = st.SimpleTokenizer(clip_bpe)
    t0 = time.process_time()
    bert_ids = [bert.convert_tokens_to_ids(bert.tokenize(l)) for l in lines]
    py_bert = time.process_time() - t0
    t0 = time.process_time()
    clip_ids = [clip.encode(l) for l in lines]
    py_clip = time.process_time() - t0

    same_bert = checksum(bert_ids) == cpp["bert_sum"]
    same_clip = checksum(clip_ids) == cpp["clip_sum"]
    print("%d captions, ids identical: BERT %s, CLIP %s" % (args.n, same_bert, same_clip))
    print("BERT WordPiece: python %.3f s, seer %.3f s, speed-up x%.1f" % (py_bert, cpp["bert_s"], py_bert / cpp["bert_s"]))
    print("CLIP BPE:       python %.3f s, seer %.3f s, speed-up x%.1f" % (py_clip, cpp["clip_s"], py_clip / cpp["clip_s"]))
    return 0 if same_bert and same_clip else 1


if __name__ == "__main__":
    sys.exit(main())
