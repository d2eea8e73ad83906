#!/usr/bin/python3
"""Benchmark driver (not a test): multi-scale deformable attention at Grounding
DINO's sizes. Times the official pure-PyTorch multi_scale_deformable_attn_pytorch
(IDEA-Research/GroundingDINO 856dde20, what the official module runs on the
CPU) here, runs build/bench_ms_deform_attn (seer's Fused kernel and Reference
composition) on the same sizes and thread count, and prints the ratios.

  ninja -C build bench_ms_deform_attn
  /usr/bin/python3 scripts/bench/bench_ms_deform_attn.py --bin build/bench_ms_deform_attn \\
      --gdino /work/.mirror/IDEA-Research+GroundingDINO/repo --threads 2

--gdino: a checkout or the bare mirror, imported as in
scripts/fixtures/make_ms_deform_attn_fixtures.py (same stand-in for
groundingdino._C). Sizes: an 800x1333 image, levels 100x167, 50x84, 25x42,
13x21 (S = 22223), 8 heads x 32 channels, 4 points; decoder cases with 900
queries for batch 1 and 2 (forward, forward + backward), the encoder case with
one query per value (forward). Medians of --repeats runs after one warm-up;
--rounds repeats everything, C++ and Python in turn, and reports the median
of the rounds' medians.
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = [(100, 167), (50, 84), (25, 42), (13, 21)]
M, D, P = 8, 32, 4


def load_official(gdino, tmp):
    spec = importlib.util.spec_from_file_location(
        "make_ms_deform_attn_fixtures", os.path.join(HERE, "..", "fixtures", "make_ms_deform_attn_fixtures.py"))
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    return fx.import_official(os.path.abspath(gdino), tmp).multi_scale_deformable_attn_pytorch


def make_inputs(N, encoder):
    """The inputs bench_ms_deform_attn.cpp makes: a reference point per query
    (anywhere for the 900 decoder queries; each map position's own pixel
    centre, in order, for the encoder), the same on every level, plus offsets
    of a few pixels of each level."""
    L = len(SHAPES)
    ss = torch.tensor(SHAPES, dtype=torch.int64)
    S = int((ss[:, 0] * ss[:, 1]).sum())
    torch.manual_seed(0)
    value = torch.randn(N, S, M, D)
    if encoder:
        centres = []
        for h, w in SHAPES:
            y = (torch.arange(h, dtype=torch.float32) + 0.5) / h
            x = (torch.arange(w, dtype=torch.float32) + 0.5) / w
            centres.append(torch.stack([x.view(1, w).expand(h, w), y.view(h, 1).expand(h, w)], -1).reshape(h * w, 2))
        ref = torch.cat(centres).unsqueeze(0).expand(N, S, 2)
    else:
        ref = torch.rand(N, 900, 2)
    Lq = ref.shape[1]
    wh = torch.stack([ss[:, 1], ss[:, 0]], -1).float().view(1, 1, 1, L, 1, 2)
    loc = ref.reshape(N, Lq, 1, 1, 1, 2) + torch.randn(N, Lq, M, L, P, 2) * 2.0 / wh
    aw = torch.randn(N, Lq, M, L * P).softmax(-1).view(N, Lq, M, L, P)
    grad_out = torch.randn(N, Lq, M * D)
    return value, ss, loc, aw, grad_out


def median_ms(f, repeats):
    f()
    t = []
    for _ in range(repeats):
        a = time.perf_counter()
        f()
        t.append((time.perf_counter() - a) * 1e3)
    return statistics.median(t)


def time_official(fn, repeats, encoder_repeats, encoder):
    res = {}
    for N in (1, 2):
        value, ss, loc, aw, go = make_inputs(N, encoder=False)

        def fwd():
            with torch.no_grad():
                fn(value, ss, loc, aw)

        def fwd_bwd():
            v, l, a = (t.detach().requires_grad_(True) for t in (value, loc, aw))
            fn(v, ss, l, a).backward(go)

        res[(f"decoder_n{N}", "forward")] = median_ms(fwd, repeats)
        res[(f"decoder_n{N}", "forward_backward")] = median_ms(fwd_bwd, repeats)
    if encoder:
        value, ss, loc, aw, _ = make_inputs(1, encoder=True)

        def enc():
            with torch.no_grad():
                fn(value, ss, loc, aw)

        res[("encoder_n1", "forward")] = median_ms(enc, encoder_repeats)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="path to the bench_ms_deform_attn executable")
    ap.add_argument("--gdino", default=os.environ.get("SEER_GDINO_REF", "/work/.mirror/IDEA-Research+GroundingDINO/repo"))
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--encoder-repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-encoder", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        fn = load_official(args.gdino, tmp)
    cmd = [args.bin, "--threads", str(args.threads), "--repeats", str(args.repeats), "--encoder-repeats",
           str(args.encoder_repeats)] + (["--no-encoder"] if args.no_encoder else [])

    rounds_ours, rounds_official = [], []
    for r in range(args.rounds):
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        ours = {}
        for line in out.splitlines():
            case, impl, phase, ms = line.split()
            ours[(case, impl, phase)] = float(ms)
        rounds_ours.append(ours)
        rounds_official.append(time_official(fn, args.repeats, args.encoder_repeats, not args.no_encoder))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    def med(rounds, key):
        return statistics.median(x[key] for x in rounds)

    print(f"threads {args.threads}, repeats {args.repeats}, rounds {args.rounds}; ms, medians")
    print(f"{'case':<12}{'phase':<18}{'fused':>10}{'reference':>11}{'official':>10}{'ref/fused':>11}{'off/fused':>11}")
    for case, phase in rounds_official[0]:
        f = med(rounds_ours, (case, "fused", phase))
        rf = med(rounds_ours, (case, "reference", phase))
        of = med(rounds_official, (case, phase))
        print(f"{case:<12}{phase:<18}{f:>10.2f}{rf:>11.2f}{of:>10.2f}{rf / f:>11.2f}{of / f:>11.2f}")
    print("backward kernel alone, split over threads by (batch, head) pairs vs per-thread grad_value buffers:")
    for N in (1, 2):
        case = f"decoder_n{N}"
        pairs = med(rounds_ours, (case, "kernel_pairs", "backward"))
        bufs = med(rounds_ours, (case, "kernel_buffers", "backward"))
        print(f"{case:<12}pairs {pairs:.2f} ms, buffers {bufs:.2f} ms")


if __name__ == "__main__":
    main()
