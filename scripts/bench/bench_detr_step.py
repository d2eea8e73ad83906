#!/usr/bin/python3
"""Benchmark driver (not a test): one DETR training iteration, the official
facebookresearch/detr code in Python against seer's bench_detr_step, on this
machine in one run, same model, batch, image size, boxes, threads and
optimizer (AdamW, backbone lr 1e-5, rest 1e-4, weight decay 1e-4, clip 0.1,
dropout 0.1, aux losses). Prints the median ms per phase, the peak RSS of each
process and the ratios.

  ninja -C build bench_detr_step
  /usr/bin/python3 scripts/bench/bench_detr_step.py --bin build/bench_detr_step \\
      --detr /tmp/refs/facebookresearch+detr --preset r50     # R50, 6+6 layers, 512x640, batch 2
  ... --preset r18                                            # R18, 2+2 layers, 320x320, batch 4

Phases, both sides the same: forward (model(samples)), loss (the criterion:
matching of every decoder layer + the loss terms, and .item() of the total),
matcher (the Hungarian matching of every decoder layer timed again on its own;
it is part of loss), backward, optimizer (clip_grad_norm + step + zero_grad).
The data phase is bench_loader.py's. Images are random, the boxes the closed
form of bench_detr_step.cpp. The reference runs first in this process, then seer in a child process;
peak RSS is each one's VmHWM (/proc/self/status).
ratio = reference / seer (> 1: seer is faster or smaller).
--detr is a checkout of facebookresearch/detr (imported from there, patched at
run time as scripts/fixtures/make_detr_fixtures.py describes; nothing copied).
"""
import argparse
import os
import subprocess
import sys
import time
import types

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from make_detr_fixtures import import_detr  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PRESETS = {
    "r50": dict(backbone="resnet50", layers=2 * [6], batch=2, height=512, width=640),
    "r18": dict(backbone="resnet18", layers=2 * [2], batch=4, height=320, width=320),
}
PHASES = ["forward_ms", "loss_ms", "matcher_ms", "backward_ms", "optimizer_ms", "iteration_ms"]


def make_targets(batch, k_boxes, num_labels):
    """bench_detr_step.cpp's boxes, as the official Normalize leaves them (cxcywh / size);
    labels are COCO-style ids 1..90 (contiguous label l -> id l + 1)."""
    out = []
    for b in range(batch):
        boxes, labels = [], []
        for k in range(k_boxes):
            u, v = 0.13 * k + 0.29 * b, 0.37 * k + 0.11 * b
            cx, cy = 0.1 + 0.8 * (u - int(u)), 0.1 + 0.8 * (v - int(v))
            bw, bh = 0.05 + 0.03 * ((k + 2 * b) % 7), 0.05 + 0.04 * ((2 * k + b) % 5)
            boxes.append([cx, cy, bw, bh])
            labels.append((7 * k + 3 * b) % num_labels + 1)
        out.append(dict(boxes=torch.tensor(boxes, dtype=torch.float32), labels=torch.tensor(labels)))
    return out


def peak_rss_mb():
    """VmHWM of this process in MiB (what bench_detr_step.cpp reports too)."""
    with open("/proc/self/status") as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1]) / 1024.0
    return 0.0


def reference(args, p):
    R = import_detr(args.detr)
    D = R.detr
    from util.misc import NestedTensor
    a = types.SimpleNamespace(
        dataset_file="coco", device="cpu", backbone=p["backbone"], dilation=False, position_embedding="sine",
        hidden_dim=256, nheads=8, enc_layers=p["layers"][0], dec_layers=p["layers"][1], dim_feedforward=2048,
        dropout=0.1, pre_norm=False, lr_backbone=1e-5, masks=False, num_queries=100, aux_loss=True,
        frozen_weights=None, bbox_loss_coef=5, giou_loss_coef=2, mask_loss_coef=1, dice_loss_coef=1,
        set_cost_class=1, set_cost_bbox=5, set_cost_giou=2, eos_coef=0.1)
    torch.manual_seed(0)
    model, criterion, _ = D.build(a)
    model.train()
    criterion.train()
    groups = [
        {"params": [q for n, q in model.named_parameters() if "backbone" not in n and q.requires_grad]},
        {"params": [q for n, q in model.named_parameters() if "backbone" in n and q.requires_grad], "lr": 1e-5},
    ]
    opt = torch.optim.AdamW(groups, lr=1e-4, weight_decay=1e-4)
    B, H, W = p["batch"], p["height"], p["width"]
    samples = NestedTensor(torch.randn(B, 3, H, W), torch.zeros(B, H, W, dtype=torch.bool))
    targets = make_targets(B, args.boxes, 90)
    ms = {k: [] for k in PHASES}
    for it in range(args.warmup + args.iters):
        t0 = time.perf_counter()
        out = model(samples)
        t1 = time.perf_counter()
        loss_dict = criterion(out, targets)
        wd = criterion.weight_dict
        losses = sum(loss_dict[k] * wd[k] for k in loss_dict if k in wd)
        losses.item()
        t2 = time.perf_counter()
        opt.zero_grad()
        losses.backward()
        t3 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        t4 = time.perf_counter()
        with torch.no_grad():
            layers = [{"pred_logits": out["pred_logits"], "pred_boxes": out["pred_boxes"]}] + out["aux_outputs"]
            t5 = time.perf_counter()
            for o in layers:
                criterion.matcher(o, targets)
            t_match = time.perf_counter() - t5
        if it < args.warmup:
            continue
        for k, v in zip(PHASES, [t1 - t0, t2 - t1, t_match, t3 - t2, t4 - t3, t4 - t0]):
            ms[k].append(v * 1e3)
    res = {k: sorted(v)[len(v) // 2] for k, v in ms.items()}
    res["peak_rss_mb"] = peak_rss_mb()
    return res


def seer(args, p):
    cmd = [args.bin, "--config", os.path.join(ROOT, "configs/detr/detr_r50_coco.yaml"),
           "--batch", str(p["batch"]), "--height", str(p["height"]), "--width", str(p["width"]),
           "--boxes", str(args.boxes), "--iters", str(args.iters), "--warmup", str(args.warmup),
           "--threads", str(args.threads),
           "--set", f"model.backbone.depth={p['backbone'][len('resnet'):]}",
           "--set", f"model.transformer.enc_layers={p['layers'][0]}",
           "--set", f"model.transformer.dec_layers={p['layers'][1]}",
           "--set", f"runtime.amp={args.amp}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = {}
    for ln in out.splitlines():
        k, _, v = ln.partition(" ")
        if k in PHASES or k == "peak_rss_mb":
            res[k] = float(v)
    return res, " ".join(cmd[1:])


def seer_train(args, p):
    """`seer train` itself at the same settings (scripts/bench/detr_bench_train.yaml: synthetic
    images resized to the preset size, up to 7 objects each): the median `time` (the whole iteration)
    (which includes the wait for data) and `data_time` of metrics.jsonl after the warm-up, and the process's peak RSS (/usr/bin/time %M)."""
    import json
    import shutil
    import tempfile
    work = tempfile.mkdtemp(prefix="seer_bench_train_")
    seer_bin = os.path.join(os.path.dirname(os.path.abspath(args.bin)), "seer")
    cmd = ["/usr/bin/time", "-f", "peak_rss_kb %M", seer_bin, "train",
           os.path.join(ROOT, "scripts/bench/detr_bench_train.yaml"), "--work-dir", work,
           "--set", f"schedule.max_iters={args.warmup + args.iters}",
           "--set", f"runtime.threads={args.threads}", "--set", f"runtime.amp={args.amp}",
           "--set", f"data.batch_size={p['batch']}",
           "--set", f"data.train.transforms.0.size=[{p['height']},{p['width']}]",
           "--set", f"model.backbone.depth={p['backbone'][len('resnet'):]}",
           "--set", f"model.transformer.enc_layers={p['layers'][0]}",
           "--set", f"model.transformer.dec_layers={p['layers'][1]}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("seer train failed:\n" + r.stderr[-2000:])
    rss = [ln for ln in r.stderr.splitlines() if ln.startswith("peak_rss_kb")][-1]
    rows = [json.loads(ln) for ln in open(os.path.join(work, "metrics.jsonl"))]
    rows = [x for x in rows if "time" in x and x["iter"] > args.warmup]
    med = lambda k: sorted(x[k] for x in rows)[len(rows) // 2] * 1e3  # noqa: E731
    shutil.rmtree(work, ignore_errors=True)
    return {"iteration_ms": med("time"), "data_ms": med("data_time"), "peak_rss_mb": int(rss.split()[1]) / 1024.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="path to the bench_detr_step executable")
    ap.add_argument("--detr", default=os.environ.get("SEER_DETR_REF", ""), help="facebookresearch/detr checkout")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="r50")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--boxes", type=int, default=7, help="target boxes per image (COCO has ~7)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--amp", default="off", help="seer's runtime.amp (the reference always runs float32)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating reference / seer rounds (medians)")
    ap.add_argument("--no-train", action="store_true", help="skip the `seer train` run (build/seer is used)")
    args = ap.parse_args()
    if not args.detr:
        sys.exit("--detr (a facebookresearch/detr checkout) is required")
    torch.set_num_threads(args.threads)
    p = PRESETS[args.preset]
    # Alternating rounds: this machine's speed drifts by tens of percent over
    # minutes, so each round's ratio is taken between neighbours in time.
    refs, ourss, trs, ratios = [], [], [], []
    for _ in range(args.rounds):
        refs.append(reference(args, p))
        o, cmd = seer(args, p)
        ourss.append(o)
        ratios.append(refs[-1]["iteration_ms"] / o["iteration_ms"])
        if not args.no_train:
            trs.append(seer_train(args, p))
    med = lambda rows, k: sorted(r[k] for r in rows)[len(rows) // 2]  # noqa: E731
    ref = {k: med(refs, k) for k in refs[0]}
    ours = {k: med(ourss, k) for k in ourss[0]}
    tr = {k: med(trs, k) for k in trs[0]} if trs else None
    print(f"DETR {p['backbone']} {p['layers'][0]}+{p['layers'][1]} layers, batch {p['batch']} at "
          f"{p['height']}x{p['width']}, {args.boxes} boxes/image, {args.threads} thread(s), median of "
          f"{args.iters} iterations after {args.warmup}, median of {args.rounds} alternating rounds; "
          f"seer amp={args.amp}")
    print(f"  seer: {cmd}")
    print(f"  {'':14s} {'official (torch ' + torch.__version__ + ')':>24s} {'seer':>10s} {'ratio':>7s}")
    for k in PHASES + ["peak_rss_mb"]:
        print(f"  {k:14s} {ref[k]:24.1f} {ours[k]:10.1f} {ref[k] / ours[k]:7.2f}")
    print(f"  iteration ratio of each round: {' '.join(f'{r:.2f}' for r in ratios)}")
    if tr:
        print(f"  `seer train` (scripts/bench/detr_bench_train.yaml, same model and size, loader included):")
        print(f"  {'iteration_ms':14s} {ref['iteration_ms']:24.1f} {tr['iteration_ms']:10.1f} "
              f"{ref['iteration_ms'] / tr['iteration_ms']:7.2f}   (of which waiting for data {tr['data_ms']:.1f} ms)")
        print(f"  {'peak_rss_mb':14s} {ref['peak_rss_mb']:24.1f} {tr['peak_rss_mb']:10.1f} "
              f"{ref['peak_rss_mb'] / tr['peak_rss_mb']:7.2f}")


if __name__ == "__main__":
    main()
