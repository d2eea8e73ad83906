#!/usr/bin/python3
"""Benchmark driver (not a test): bf16 autocast against float32 in `seer train`,
speed and loss curve. Trains the same config twice from the same seed, once
with runtime.amp=off and once with runtime.amp=bf16 (alternating --repeats
times), and prints the median s/iteration of each (the `time` field of
metrics.jsonl, first 5 logged iterations left out), the speed-up, and the
mean loss of both runs side by side over windows of --every iterations.

  ninja -C build seer
  /usr/bin/python3 scripts/bench/bench_amp.py --seer build/seer \\
      --config configs/detr/detr_r18_synthetic.yaml --iters 400 [--every 50] [--work /tmp/seer_amp]

bf16 is fast only on CPUs with AVX512-BF16 or AMX (lscpu flags avx512_bf16,
amx_bf16); elsewhere LibTorch emulates it and it is slower than float32.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def train(args, amp, rep):
    work = os.path.join(args.work, f"{amp}_{rep}")
    cmd = [args.seer, "train", args.config, "--work-dir", work, "--set", f"runtime.amp={amp}",
           "--set", f"schedule.max_iters={args.iters}", "--set", "train.log_interval=1",
           "--set", "train.eval_interval=0", "--set", "train.vis_images=0",
           "--set", "train.checkpoint_interval=0"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    rows = [json.loads(ln) for ln in open(os.path.join(work, "metrics.jsonl"))]
    rows = [r for r in rows if "loss" in r and "time" in r]
    return {r["iter"]: r for r in rows}, " ".join(cmd[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seer", required=True)
    ap.add_argument("--config", default="configs/detr/detr_r18_synthetic.yaml")
    ap.add_argument("--iters", type=int, default=400)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--work", default="/tmp/seer_amp")
    args = ap.parse_args()
    curves, times, cmds = {}, {"off": [], "bf16": []}, {}
    for rep in range(args.repeats):
        for amp in ["off", "bf16"]:
            rows, cmds[amp] = train(args, amp, rep)
            curves.setdefault(amp, rows)
            times[amp].append(statistics.median(r["time"] for i, r in rows.items() if i > 5))
    off, bf = statistics.median(times["off"]), statistics.median(times["bf16"])
    print(f"{args.config}: {args.iters} iterations, float32 vs bf16 autocast, {args.repeats} run(s) each")
    for amp in ["off", "bf16"]:
        print(f"  {amp}: {cmds[amp]}")
    print(f"  s/iteration  float32 {off:.3f}   bf16 {bf:.3f}   speed-up {off / bf:.2f}x")
    # single-batch losses are noisy: compare the mean over each window of --every iterations
    print(f"  {'iters':>11s} {'mean loss fp32':>15s} {'bf16':>8s} {'rel diff':>9s}")
    worst = 0.0
    for lo in range(1, args.iters + 1, args.every):
        hi = min(lo + args.every - 1, args.iters)
        a = statistics.mean(curves["off"][i]["loss"] for i in range(lo, hi + 1))
        b = statistics.mean(curves["bf16"][i]["loss"] for i in range(lo, hi + 1))
        worst = max(worst, abs(a - b) / abs(a))
        print(f"  {lo:5d}-{hi:5d} {a:15.4f} {b:8.4f} {abs(a - b) / abs(a):9.4f}")
    print(f"  largest relative difference of the window means: {worst:.4f}")


if __name__ == "__main__":
    sys.exit(main())
