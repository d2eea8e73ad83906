#!/usr/bin/python3
"""Benchmark driver (not a test): times scipy.optimize.linear_sum_assignment and
the official DETR HungarianMatcher against seer's bench_losses on the SAME
inputs on this machine, single-threaded, and prints time ratios.

  ninja -C build-losses bench_losses
  /usr/bin/python3 scripts/bench/bench_losses.py --bin build-losses/bench_losses --detr /tmp/refs/facebookresearch+detr

ratio = reference time / seer time (> 1: seer is faster).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.optimize
import torch

SIZES = [(100, 100), (300, 300), (900, 900), (900, 50), (300, 20), (20, 300)]


def median_ms(f, repeats):
    f()
    t = []
    for _ in range(repeats):
        a = time.perf_counter()
        f()
        t.append((time.perf_counter() - a) * 1e3)
    return sorted(t)[len(t) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="path to the bench_losses executable")
    ap.add_argument("--detr", default=os.environ.get("SEER_DETR_REF", ""), help="facebookresearch/detr checkout")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    inputs = {}
    for r, c in SIZES:
        inputs[f"lsa_{r}x{c}"] = torch.from_numpy(rng.random((r, c)))
    g = torch.Generator().manual_seed(0)
    B, Q, C, N = 8, 100, 92, 20
    inputs["detr/logits"] = torch.randn(B, Q, C, generator=g)
    inputs["detr/boxes"] = torch.rand(B, Q, 4, generator=g) * 0.5 + 0.25
    targets = []
    for j in range(B):
        lab = torch.randint(0, C - 1, (N,), generator=g)
        bx = torch.cat([torch.rand(N, 2, generator=g) * 0.6 + 0.2, torch.rand(N, 2, generator=g) * 0.3 + 0.05], -1)
        inputs[f"detr/labels{j}"], inputs[f"detr/boxes{j}"] = lab, bx
        targets.append({"labels": lab, "boxes": bx})

    ref = {}
    for r, c in SIZES:
        m = inputs[f"lsa_{r}x{c}"]
        # what a caller pays: tensor -> numpy -> scipy
        ref[f"lsa_{r}x{c}"] = median_ms(lambda: scipy.optimize.linear_sum_assignment(m.numpy()), args.repeats)
    if args.detr:
        # models/matcher.py alone: the package __init__ pulls in the whole model
        sys.path.insert(0, args.detr)
        import importlib.util
        spec = importlib.util.spec_from_file_location("detr_matcher", os.path.join(args.detr, "models", "matcher.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        matcher = mod.HungarianMatcher(1, 5, 2)
        outs = {"pred_logits": inputs["detr/logits"], "pred_boxes": inputs["detr/boxes"]}
        ref["detr_matcher"] = median_ms(lambda: matcher(outs, targets), args.repeats)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench_inputs.pt")
        torch.save(dict(inputs), path)
        res = subprocess.run([args.bin, path, str(args.repeats)], check=True, capture_output=True, text=True).stdout
    ours = {l.split()[0]: float(l.split()[1]) for l in res.splitlines() if l.strip()}
    print(f"{'case':<18}{'reference ms':>14}{'seer ms':>10}{'ratio':>8}")
    for k, v in ref.items():
        print(f"{k:<18}{v:>14.3f}{ours[k]:>10.3f}{v / ours[k]:>8.2f}")


if __name__ == "__main__":
    main()
