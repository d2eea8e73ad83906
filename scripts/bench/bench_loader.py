#!/usr/bin/python3
"""Benchmark driver (not a test): training data loading, images/s, the official
DETR pipeline (datasets/coco.py CocoDetection + make_coco_transforms('train'):
flip, random resize 480-800 or resize + random crop + resize, ToTensor,
Normalize; a torch DataLoader with util.misc.collate_fn, batch 2, shuffled)
against seer's bench_loader on configs/detr/detr_r50_coco.yaml, the same
augmentations written as seer transforms, on the same COCO folder, with the
same number of worker processes / threads. Each side runs --epochs epochs and
the first is left out (file cache and worker start-up).

  ninja -C build bench_loader
  /usr/bin/python3 scripts/bench/bench_loader.py --bin build/bench_loader \\
      --detr /tmp/refs/facebookresearch+detr --pycocotools /tmp/pcc/PythonAPI \\
      --coco ../shared/data/coco/coco_tiny160 [--workers 2] [--epochs 3]

--pycocotools: cocodataset/cocoapi's PythonAPI built in place (see
scripts/fixtures/make_coco_eval_fixtures.py); --detr: a facebookresearch/detr
checkout (imported as scripts/fixtures/make_detr_fixtures.py does). ratio = seer images/s / reference images/s (> 1: seer is faster).
"""
import argparse
import os
import subprocess
import sys
import time
import types

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from make_coco_eval_fixtures import import_pycocotools  # noqa: E402
from make_detr_fixtures import import_detr  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def reference(args):
    import_pycocotools(args.pycocotools)  # with the matplotlib stubs
    import_detr(args.detr)  # the `packaging` stub, then the checkout on sys.path
    import datasets.coco as C
    import util.misc as M
    ds = C.build("train", types.SimpleNamespace(coco_path=args.coco, masks=False))
    g = torch.Generator().manual_seed(0)
    sampler = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(ds, generator=g), 2, drop_last=False)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=M.collate_fn,
                                         num_workers=args.workers, persistent_workers=args.workers > 0)
    images, seconds = 0, 0.0
    for e in range(args.epochs):
        t0 = time.perf_counter()
        n = 0
        for samples, targets in loader:
            n += len(targets)
        if e > 0:
            images += n
            seconds += time.perf_counter() - t0
    return images / seconds, images


def seer(args):
    cmd = [args.bin, "--config", os.path.join(ROOT, "configs/detr/detr_r50_coco.yaml"),
           "--set", f"data.root={os.path.abspath(args.coco)}", "--set", "data.train.dataset.filter_empty=false",
           "--set", "data.batch_size=2", "--epochs", str(args.epochs), "--workers", str(args.workers)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    vals = dict(ln.split(" ", 1) for ln in out.splitlines())
    return float(vals["images_per_s"]), int(vals["images"]), " ".join(cmd[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="path to the bench_loader executable")
    ap.add_argument("--detr", default=os.environ.get("SEER_DETR_REF", ""), help="facebookresearch/detr checkout")
    ap.add_argument("--pycocotools", default="/tmp/pcc/PythonAPI")
    ap.add_argument("--coco", default=os.path.join(ROOT, "..", "shared", "data", "coco", "coco_tiny160"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    if not args.detr:
        sys.exit("--detr (a facebookresearch/detr checkout) is required")
    torch.set_num_threads(1)
    ref, ref_n = reference(args)
    ours, n, cmd = seer(args)
    print(f"DETR training data pipeline on {os.path.abspath(args.coco)}, batch 2, {args.workers} worker(s), "
          f"epochs 2..{args.epochs}")
    print(f"  seer: {cmd}")
    print(f"  official torchvision pipeline (torch {torch.__version__}): {ref:8.1f} images/s ({ref_n} images)")
    print(f"  seer loader                                       : {ours:8.1f} images/s ({n} images)")
    print(f"  ratio seer / official                             : {ours / ref:8.2f}")


if __name__ == "__main__":
    main()
