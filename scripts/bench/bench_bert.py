#!/usr/bin/python3
"""Benchmark driver (not a test): BERT-base forward on 8 x 32 tokens, seer's
bench_bert against the Python reference BertModel on this machine, with the
same thread count, eval mode, no grad; prints the median times and the ratio.

  ninja -C build-encoders bench_bert
  /usr/bin/python3 scripts/bench/bench_bert.py --bin build-encoders/bench_bert \
      --bert-src /tmp/refs/pytorch-pretrained-BERT [--threads 1]

--bert-src: a checkout of huggingface/pytorch-pretrained-BERT v0.6.1 (the same
reference as scripts/fixtures/make_text_encoder_fixtures.py).
ratio = reference time / seer time (> 1: seer is faster).
"""
import argparse
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from make_text_encoder_fixtures import load_bert_module  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="path to the bench_bert executable")
    ap.add_argument("--bert-src", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    M = load_bert_module(args.bert_src)
    torch.manual_seed(0)
    model = M.BertModel(M.BertConfig(vocab_size_or_config_json_file=30522)).eval()
    B, L = args.batch, args.length
    ids = torch.randint(1000, 30522, (B, L))
    mask = torch.ones(B, L, dtype=torch.long)
    mask[B // 2:, L * 3 // 4:] = 0
    tt = torch.zeros_like(ids)
    with torch.no_grad():
        for _ in range(3):
            model(ids, tt, mask, output_all_encoded_layers=False)
        t = []
        for _ in range(args.repeats):
            a = time.perf_counter()
            model(ids, tt, mask, output_all_encoded_layers=False)
            t.append((time.perf_counter() - a) * 1e3)
    ref = sorted(t)[len(t) // 2]
    out = subprocess.run([args.bin, "--threads", str(args.threads), "--batch", str(B), "--length", str(L),
                          "--repeats", str(args.repeats)], check=True, capture_output=True, text=True).stdout
    seer = float([ln for ln in out.splitlines() if ln.startswith("bert_base_forward_ms")][0].split()[1])
    print(f"BERT-base forward {B}x{L} tokens, {args.threads} thread(s), median of {args.repeats}")
    print(f"  python reference (torch {torch.__version__}): {ref:8.2f} ms")
    print(f"  seer C++                              : {seer:8.2f} ms")
    print(f"  ratio reference / seer                : {ref / seer:8.2f}")


if __name__ == "__main__":
    main()
