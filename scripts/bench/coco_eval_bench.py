#!/usr/bin/python3
"""Benchmark `seer coco-eval` against pycocotools on a synthetic COCO-scale set.

The set: 5000 images, 1-13 ground-truth boxes each, 100 detections per image,
80 classes (detections are jittered ground truth plus random boxes, so that the
matching is realistic). Both tools run end to end (load + evaluate + accumulate
+ summarize) under /usr/bin/time -v; the script prints wall times, the ratio,
peak resident memory and the largest difference between the two sets of stats.

    /usr/bin/python3 scripts/bench/coco_eval_bench.py \
        --seer build-eval/seer --pycocotools /tmp/pcc/PythonAPI [--iou-type bbox] [--work /tmp/coco_bench]

With --iou-type segm the ground truth carries polygons and every detection a
compressed-RLE mask (an ellipse inscribed in its box), as a segmentation model's
results file does; 500 images keep pycocotools' run short:

    /usr/bin/python3 scripts/bench/coco_eval_bench.py --seer build-eval/seer --iou-type segm --images 500

To compare builds of seer (before / after a change), give --seer more than once
and --repeat N: the binaries run in turn, N rounds on the same set, and the
script prints each one's median wall and cpu time and its own load / evaluate
split, and checks that every binary wrote the same stats to the last digit.
--reuse keeps a set already written to --work with the same settings (making
the segm set takes minutes):

    /usr/bin/python3 scripts/bench/coco_eval_bench.py --seer /tmp/seer_before --seer build/seer \
        --repeat 5 --reuse --skip-pycocotools [--iou-type segm]

pycocotools is cocodataset/cocoapi built in place (see
scripts/fixtures/make_coco_eval_fixtures.py). Nothing is written into the repository.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

import numpy as np

PYCOCO_DRIVER = r'''
import sys, json, types
sys.path.insert(0, sys.argv[1])
for n in ["matplotlib", "matplotlib.pyplot", "matplotlib.collections", "matplotlib.patches"]:
    m = types.ModuleType(n); m.PatchCollection = m.Polygon = None; sys.modules[n] = m
import numpy as np
np.float = float  # cocoeval.py 2.0 uses np.float (removed in numpy 1.24)
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
gt = COCO(sys.argv[2]); dt = gt.loadRes(sys.argv[3])
E = COCOeval(gt, dt, sys.argv[4]); E.evaluate(); E.accumulate(); E.summarize()
json.dump({"stats": [float(x) for x in E.stats]}, open(sys.argv[5], "w"))
'''


def rle_string(counts):
    """cocoapi's compressed RLE text (rleToString): each count, minus the one two
    before it from the third on, as 5-bit groups with a continuation bit, + 48."""
    out = []
    for i, x in enumerate(counts):
        x = int(x) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def ellipse_rle(box, h, w):
    """Column-major run lengths of the ellipse inscribed in box [x, y, bw, bh]."""
    x, y, bw, bh = box
    cx, cy, rx, ry = x + bw / 2, y + bh / 2, max(bw / 2, 0.5), max(bh / 2, 0.5)
    cols = np.arange(max(int(np.floor(x)), 0), min(int(np.ceil(x + bw)), w))
    t = 1 - ((cols + 0.5 - cx) / rx) ** 2
    keep = t > 0
    cols, half = cols[keep], ry * np.sqrt(t[keep])
    lo = np.clip(np.ceil(cy - half - 0.5), 0, h).astype(np.int64)
    hi = np.clip(np.floor(cy + half - 0.5) + 1, 0, h).astype(np.int64)
    keep = hi > lo
    starts, ends = cols[keep] * h + lo[keep], cols[keep] * h + hi[keep]
    if len(starts) == 0:
        return {"size": [h, w], "counts": rle_string([h * w])}
    # Runs of consecutive columns that touch (end == next start) merge into one.
    join = ends[:-1] == starts[1:]
    starts = np.concatenate([starts[:1], starts[1:][~join]])
    ends = np.concatenate([ends[:-1][~join], ends[-1:]])
    edges = np.empty(2 * len(starts), np.int64)
    edges[0::2], edges[1::2] = starts, ends
    counts = np.diff(np.concatenate([[0], edges, [h * w]]))
    return {"size": [h, w], "counts": rle_string(counts.tolist())}


def make_set(work, n_images, n_dets, n_classes, seed, with_masks):
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    cats = [{"id": i + 1, "name": "class%d" % (i + 1)} for i in range(n_classes)]
    aid = 1
    for i in range(n_images):
        w, h = int(rng.integers(320, 641)), int(rng.integers(240, 481))
        images.append({"id": i + 1, "width": w, "height": h, "file_name": "%012d.jpg" % (i + 1)})
        n_gt = int(rng.integers(1, 14))
        gts = []
        for _ in range(n_gt):
            bw, bh = float(rng.uniform(4, w * 0.6)), float(rng.uniform(4, h * 0.6))
            x, y = float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh))
            c = int(rng.integers(1, n_classes + 1))
            a = {"id": aid, "image_id": i + 1, "category_id": c, "bbox": [x, y, bw, bh], "area": bw * bh,
                 "iscrowd": int(rng.uniform() < 0.01)}
            if with_masks:
                a["segmentation"] = [[x, y, x + bw, y, x + bw * 0.8, y + bh, x, y + bh * 0.9]]
            anns.append(a)
            gts.append(a)
            aid += 1
        for d in range(n_dets):
            if d < 3 * len(gts):  # jittered copies of the ground truth
                g = gts[d % len(gts)]
                x, y, bw, bh = g["bbox"]
                s = 0.05 * (1 + d // len(gts))
                box = [x + rng.normal(0, s * bw), y + rng.normal(0, s * bh),
                       bw * np.exp(rng.normal(0, s)), bh * np.exp(rng.normal(0, s))]
                c = g["category_id"] if rng.uniform() < 0.9 else int(rng.integers(1, n_classes + 1))
            else:
                bw, bh = float(rng.uniform(2, w * 0.5)), float(rng.uniform(2, h * 0.5))
                box = [float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh)), bw, bh]
                c = int(rng.integers(1, n_classes + 1))
            det = {"image_id": i + 1, "category_id": c, "bbox": [round(float(v), 2) for v in box],
                   "score": round(float(rng.uniform()), 4)}
            if with_masks:  # a mask-only record, as segmentation results are
                det["segmentation"] = ellipse_rle(det.pop("bbox"), h, w)
            dets.append(det)
    gt_path, dt_path = os.path.join(work, "gt.json"), os.path.join(work, "results.json")
    json.dump({"images": images, "annotations": anns, "categories": cats}, open(gt_path, "w"))
    json.dump(dets, open(dt_path, "w"))
    return gt_path, dt_path


def timed(cmd):
    """Run under /usr/bin/time -v; return (wall seconds, cpu seconds, peak RSS MiB, stdout)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s\n%s" % (" ".join(cmd), p.stdout[-2000:], p.stderr[-2000:]))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr).group(1)
    secs = sum(float(v) * 60 ** k for k, v in enumerate(reversed(wall.split(":"))))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    cpu = sum(float(re.search(r"%s time \(seconds\): (\S+)" % k, p.stderr).group(1)) for k in ("User", "System"))
    return secs, cpu, rss, p.stdout


def make_or_reuse_set(args):
    """The set for these settings; with --reuse, the one already in --work if it was
    written with the same settings (recorded next to it in set.json)."""
    settings = {"images": args.images, "dets": args.dets, "classes": args.classes, "seed": 0,
                "masks": args.iou_type == "segm"}
    stamp = os.path.join(args.work, "set.json")
    gt, dt = os.path.join(args.work, "gt.json"), os.path.join(args.work, "results.json")
    if args.reuse and os.path.exists(stamp) and os.path.exists(gt) and os.path.exists(dt):
        if json.load(open(stamp)) == settings:
            return gt, dt
    if os.path.exists(stamp):
        os.remove(stamp)
    gt, dt = make_set(args.work, args.images, args.dets, args.classes, 0, settings["masks"])
    json.dump(settings, open(stamp, "w"))
    return gt, dt


def seer_phases(log):
    """seer coco-eval's own split: (load seconds, evaluate seconds)."""
    load = float(re.search(r"^Loaded .*\(t=([0-9.]+)s\)", log, re.M).group(1))
    ev = float(re.search(r"^Evaluate .*\(t=([0-9.]+)s\)", log, re.M).group(1))
    return load, ev


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seer", required=True, action="append", help="a seer binary; give several to compare builds")
    ap.add_argument("--pycocotools", default="/tmp/pcc/PythonAPI")
    ap.add_argument("--iou-type", default="bbox", choices=["bbox", "segm"])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--dets", type=int, default=100)
    ap.add_argument("--classes", type=int, default=80)
    ap.add_argument("--work", default="/tmp/coco_bench")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of seer runs; medians are printed")
    ap.add_argument("--reuse", action="store_true", help="keep a set already in --work made with these settings")
    ap.add_argument("--skip-pycocotools", action="store_true", help="only time seer")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    os.makedirs(args.work, exist_ok=True)
    gt, dt = make_or_reuse_set(args)
    print("set: %d images, %d classes, %d detections/image (%s)" % (args.images, args.classes, args.dets, args.work))

    # Binaries take turns, round after round, so that drift in the machine's speed
    # falls on all of them alike.
    runs = [[] for _ in args.seer]
    outs = [os.path.join(args.work, "seer_stats_%d.json" % i) for i in range(len(args.seer))]
    for rnd in range(args.repeat):
        for i, b in enumerate(args.seer):
            t, c, m, log = timed([b, "coco-eval", "--gt", gt, "--dt", dt, "--iou-type", args.iou_type,
                                  "--out", outs[i]])
            if rnd == 0 and i == 0:
                print(log)
            load, ev = seer_phases(log)
            runs[i].append((t, c, m, load, ev))
            print("round %d %-28s wall %7.2f s  cpu %7.2f s  load %6.2f s  evaluate %6.2f s"
                  % (rnd + 1, b, t, c, load, ev))
    med = []
    for b, r in zip(args.seer, runs):
        med.append([statistics.median(x[k] for x in r) for k in range(5)])
        s_t, s_c, s_m, s_l, s_e = med[-1]
        print("seer coco-eval %s (median of %d): wall %7.2f s  cpu %7.2f s  load %6.2f s  evaluate %6.2f s  "
              "peak RSS %7.1f MiB" % (b, len(r), s_t, s_c, s_l, s_e, s_m))
    if len(args.seer) > 1:
        ref = open(outs[0]).read()
        same = all(open(o).read() == ref for o in outs[1:])
        print("stats and per-category AP identical across binaries: %s" % ("yes" if same else "NO"))
        if not same:
            sys.exit(1)
    if args.skip_pycocotools:
        return
    s_t, s_c = med[0][0], med[0][1]
    seer_out = outs[0]
    py_out = os.path.join(args.work, "pycocotools_stats.json")
    driver = os.path.join(args.work, "pycoco_driver.py")
    open(driver, "w").write(PYCOCO_DRIVER)
    p_t, p_c, p_m, _ = timed(["/usr/bin/python3", driver, args.pycocotools, gt, dt, args.iou_type, py_out])
    print("pycocotools    : wall %7.2f s  cpu %7.2f s  peak RSS %7.1f MiB" % (p_t, p_c, p_m))
    # Wall time is what the user waits for; on a shared machine cpu time is the steadier figure.
    print("speed-up       : wall %.1fx  cpu %.1fx" % (p_t / s_t, p_c / s_c))
    a = json.load(open(seer_out))["stats"]
    b = json.load(open(py_out))["stats"]
    print("max |stats diff|: %.3g" % max(abs(x - y) for x, y in zip(a, b)))


if __name__ == "__main__":
    main()
