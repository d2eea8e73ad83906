#!/usr/bin/python3
"""Benchmark driver (not a test): Grounding DINO Swin-T (GroundingDINO_SwinT_OGC.py,
full 12-layer bert-base) in seer (scripts/bench/bench_grounding_dino.cpp) against the
official Python code on this machine, on the same weights and inputs.

  cmake --build build -j2 --target bench_grounding_dino
  /usr/bin/python3 scripts/bench/bench_grounding_dino.py --bin build/bench_grounding_dino \\
      --gdino /tmp/refs/GroundingDINO --ogd /tmp/refs/Open-GroundingDino \\
      --bert-src /tmp/refs/pytorch-pretrained-BERT --tok-src /tmp/refs/bert

What is measured (every child process is started by this driver, which itself never
imports torch; the two sides run in turn, seer first, and medians are taken over
all rounds because this machine is shared and its speed drifts):
  1. inference, batch 1, image 800x1333, caption "a cat . remote control . person .":
     the official `model(NestedTensor(image, mask), captions=[caption])` (tokeniser,
     BERT, Swin, feature enhancer, query selection, decoder, heads; its CPU path of
     multi-scale deformable attention is the pure-PyTorch grid_sample one) against
     seer's tokenize + encode_text + forward (the fused deformable-attention kernel,
     seer's default). Median ms over `--runs` runs after `--warmup`, per round. Both
     sides also time their stages (the official one with forward hooks, seer with a
     copy of GroundingDino::forward in the bench with timers; the copy's outputs are
     checked equal to the library's). seer's outputs of round 1 are compared with
     the official ones (max |diff|).
  2. seer only (one process): runtime bf16 autocast forward; predict() on image A then
     image B with the same prompt (the second hits the text cache: BERT skipped);
     predict() of 4 images in one batch against 4 predict() calls.
  3. one training iteration (forward, loss, backward, clip 0.1 + AdamW step), batch 2
     at 512x640, captions/boxes of make_grounding_dino_fixtures.py's loss case:
     Open-GroundingDino's build_groundingdino model + SetCriterion (config/cfg_odvg.py,
     its get_param_dict groups, 'bert' frozen, as main.py/engine.py do) against seer's
     configs/grounding_dino/gdino_swin_t_ogc.yaml (same freeze, groups, clipping).
     cfg_odvg.py turns on gradient checkpointing (use_checkpoint, use_transformer_ckpt:
     Swin blocks, fusion and encoder layers recompute their forward in backward);
     seer has none. The official side runs with it off (the same computation as
     seer) in every round, and once more as shipped (on) at the end.
     Peak memory: each process's VmHWM (its own address space's RSS high-water mark,
     what getrusage's ru_maxrss reports when the process did not inherit a larger
     parent; ru_maxrss is printed too).

Weights: hashed from the parameter names (make_grounding_dino_fixtures.py's rule,
its load_hashed) on the official model, saved once as a .pth that both sides load
(seer through load_model_weights, strict); inputs are make_image() noise, saved in
the same work folder (--work, default /tmp/seer_gdino_bench; reused across runs).

References (checked out outside the repository, imported from there, nothing copied):
--gdino IDEA-Research/GroundingDINO, --ogd longzw1997/Open-GroundingDino (the full
checkout with util/), --bert-src pytorch-pretrained-BERT, --tok-src google-research/bert,
behind the stand-ins of scripts/fixtures/standins (see make_grounding_dino_fixtures.py).
ratio = official / seer (> 1: seer is faster or smaller).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(ROOT, "scripts", "fixtures")
CAPTION = "a cat . remote control . person ."
INFER_HW = (800, 1333)
TRAIN_HW = (512, 640)
BATCH_HW = (512, 640)  # seer's batched predict() of 4 images vs 4 calls (800x1333 would take 8 more forwards)
SEER_CONFIG = os.path.join(ROOT, "configs", "grounding_dino", "gdino_swin_t_ogc.yaml")


def median(v):
    return statistics.median(v) if v else float("nan")


def peak_rss():
    """(VmHWM MiB, ru_maxrss MiB) of this process."""
    import resource
    hwm = 0.0
    with open("/proc/self/status") as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                hwm = int(ln.split()[1]) / 1024.0
    return hwm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(d):
    print("RESULT " + json.dumps(d), flush=True)


# ------------------------------------------------------------------ child roles (import torch)
def official_setup(a):
    """The stand-ins with the full bert-base, and make_grounding_dino_fixtures as a module."""
    sys.path.insert(0, FIXTURES)
    import make_grounding_dino_fixtures as F
    transformers = F.setup(a)
    transformers.configure_bert(a.bert_src, {})  # full bert-base-uncased (12 layers)
    return F


def role_prep(a):
    """The hashed weights (when missing) and the inputs, in --work."""
    import torch
    torch.set_num_threads(a.threads)
    F = official_setup(a)
    res = {}
    if not os.path.exists(a.weights):
        R = F.import_official(os.path.abspath(a.gdino))
        model = F.build_official(R, "GroundingDINO_SwinT_OGC.py")
        F.load_hashed(model)
        sd = model.state_dict()
        torch.save(sd, a.weights)
        res = {"entries": len(sd), "parameters": sum(p.numel() for p in model.parameters())}
    d = {f"infer/{i}": F.make_image(100 + i, *INFER_HW).float() for i in range(4)}
    d.update({f"batch/{i}": F.make_image(300 + i, *BATCH_HW).float() for i in range(4)})
    d["train/images"] = torch.cat([F.make_image(200 + i, *TRAIN_HW).float() for i in range(2)])
    captions, cat_lists, targets = train_case(F)
    for b, t in enumerate(targets):
        d[f"train/boxes/{b}"] = torch.tensor(t["boxes"], dtype=torch.float32)
        d[f"train/labels/{b}"] = torch.tensor(t["labels"], dtype=torch.long)
    meta = json.dumps({"captions": captions, "cat_lists": cat_lists}).encode()
    d["train/meta_json"] = torch.tensor(list(meta), dtype=torch.uint8)
    torch.save(d, a.inputs)
    emit(res)


class StageTimer:
    """Accumulates wall time between a module's forward pre-hook and its forward hook."""

    def __init__(self):
        self.acc, self.start = {}, {}

    def attach(self, module, name):
        def pre(m, inp):
            self.start[name] = time.perf_counter()

        def post(m, inp, out):
            self.acc[name] = self.acc.get(name, 0.0) + (time.perf_counter() - self.start.pop(name)) * 1e3
        module.register_forward_pre_hook(pre)
        module.register_forward_hook(post)

    def take(self):
        d, self.acc = self.acc, {}
        return d


def role_infer(a):
    import torch
    torch.set_num_threads(a.threads)
    F = official_setup(a)
    R = F.import_official(os.path.abspath(a.gdino))
    model = F.build_official(R, "GroundingDINO_SwinT_OGC.py")
    sd = torch.load(a.weights)
    model.load_state_dict(sd, strict=True)
    del sd
    model.eval()
    image = torch.load(a.inputs)["infer/0"]
    mask = torch.zeros(1, *image.shape[-2:], dtype=torch.bool)
    t = model.transformer
    st = StageTimer()
    st.attach(model.backbone, "backbone")  # Swin + position embedding (Joiner)
    st.attach(model.bert, "bert")
    st.attach(model.feat_map, "feat_map")
    for p in model.input_proj:
        st.attach(p, "input_proj")
    st.attach(t, "transformer")
    st.attach(t.encoder, "encoder")
    for lay in t.encoder.fusion_layers:
        st.attach(lay, "enc_fusion")
    for lay in t.encoder.text_layers:
        st.attach(lay, "enc_text")
    for lay in t.encoder.layers:
        st.attach(lay, "enc_deformable")
    st.attach(t.decoder, "decoder")
    enc_logits = []  # the encoder proposals' token logits, for the query selection
    t.enc_out_class_embed.register_forward_hook(lambda m, i, o: enc_logits.append(o))
    times, stages = [], []
    out = None
    with torch.no_grad():
        for i in range(a.warmup + a.runs):
            st.take()
            enc_logits.clear()
            t0 = time.perf_counter()
            out = model(R.misc.NestedTensor(image, mask), captions=[CAPTION])
            ms = (time.perf_counter() - t0) * 1e3
            s = st.take()
            if i < a.warmup:
                continue
            times.append(ms)
            s["bert"] = s.get("bert", 0) + s.pop("feat_map", 0)
            s["query_selection"] = s["transformer"] - s["encoder"] - s["decoder"]  # + flattening, level embed
            s["other"] = ms - s["backbone"] - s["bert"] - s["input_proj"] - s["transformer"]  # tokeniser, masks, heads
            stages.append(s)
    res = {"forward_ms": times, "stages": {k: median([s[k] for s in stages]) for k in stages[0]},
           "threads": torch.get_num_threads()}
    # the official selection, as transformer.py computes it (topk of the best token logit)
    scores = enc_logits[0].max(-1)[0]
    topk = torch.topk(scores, t.num_queries, dim=1)[1]
    if a.save_official:
        torch.save({"pred_logits": out["pred_logits"], "pred_boxes": out["pred_boxes"], "topk_index": topk},
                   a.save_official)
    if a.compare:
        # seer's own run: the 900 selected encoder positions against the official ones
        ours = torch.load(a.compare)["topk_index"]
        differ = topk[0] != ours[0]
        srt = scores[0].sort(descending=True)[0]
        res["selection"] = {
            "same_set": set(topk[0].tolist()) == set(ours[0].tolist()),
            "slots_differing": int(differ.sum()),
            # the slots that differ hold official scores this close: near-ties that float noise may order either way
            "differing_slots_max_score_gap": float((scores[0, topk[0]] - scores[0, ours[0]]).abs().max()),
            "neighbours_within_1e-5": int(((srt[:900] - srt[1:901]) < 1e-5).sum()),
        }
    res["vmhwm_mb"], res["ru_maxrss_mb"] = peak_rss()
    emit(res)


# the loss case of make_grounding_dino_fixtures.py (F.CAPTIONS, F.TARGETS), shared with the C++ side
def train_case(F):
    captions = list(F.CAPTIONS)
    cat_lists = [[p.strip() for p in c.split(" .") if p.strip()] for c in captions]
    return captions, cat_lists, F.TARGETS


def role_train(a):
    import types
    import torch
    torch.set_num_threads(a.threads)
    F = official_setup(a)
    sys.path.insert(0, os.path.abspath(a.ogd))  # Open-GroundingDino's models/, util/, groundingdino/
    from util.slconfig import SLConfig
    from util.get_param_dicts import get_param_dict
    import models  # noqa: F401  (registers the build function)
    from models.registry import MODULE_BUILD_FUNCS
    from groundingdino.util.misc import NestedTensor
    cfg = SLConfig.fromfile(os.path.join(a.ogd, "config", "cfg_odvg.py"))
    args = types.SimpleNamespace(**cfg._cfg_dict.to_dict())
    captions, cat_lists, targets_spec = train_case(F)
    if a.same_caption:  # every image gets caption 0 (its labels index caption 0's phrases)
        captions, cat_lists = [captions[0]] * len(captions), [cat_lists[0]] * len(captions)
    args.device = "cpu"
    args.use_coco_eval = False
    args.label_list = cat_lists[0]
    args.use_checkpoint = args.use_transformer_ckpt = bool(a.ogd_checkpoint)
    if a.no_drop_path:
        args.fusion_droppath = 0.0
    torch.manual_seed(0)
    model, criterion, _ = MODULE_BUILD_FUNCS.get(args.modelname)(args)
    if a.no_drop_path:  # Swin's drop_path_rate 0.2 is not an argument of build_backbone: set on the modules;
        for mod in model.modules():  # and BERT's dropout 0.1 (frozen, but in train mode)
            if type(mod).__name__ == "DropPath":
                mod.drop_prob = 0.0
            elif isinstance(mod, torch.nn.Dropout):
                mod.p = 0.0
    sd = torch.load(a.weights)
    model.load_state_dict(sd, strict=True)
    del sd
    # main.py: groups first, then freeze_keywords, then AdamW
    param_dicts = get_param_dict(args, model)
    for name, p in model.named_parameters():
        if any(k in name for k in args.freeze_keywords):
            p.requires_grad_(False)
    opt = torch.optim.AdamW(param_dicts, lr=args.lr, weight_decay=args.weight_decay)
    model.train()
    criterion.train()
    enc_logits = []  # the first iteration's query selection (--save-selection)
    if a.save_selection:
        model.transformer.enc_out_class_embed.register_forward_hook(lambda m, i, o: enc_logits.append(o.detach()))
    images = torch.load(a.inputs)["train/images"]
    samples = NestedTensor(images, torch.zeros(images.shape[0], *images.shape[-2:], dtype=torch.bool))
    targets = [{"labels": torch.tensor(t["labels"]), "boxes": torch.tensor(t["boxes"])} for t in targets_spec]
    phases = {k: [] for k in ("forward_ms", "loss_ms", "backward_ms", "optimizer_ms", "iteration_ms")}
    losses_seen = []
    for it in range(a.warmup + a.iters):
        t0 = time.perf_counter()
        out = model(samples, captions=captions)
        t1 = time.perf_counter()
        loss_dict = criterion(out, targets, cat_lists, captions)
        wd = criterion.weight_dict
        losses = sum(loss_dict[k] * wd[k] for k in loss_dict if k in wd)
        loss_value = losses.item()
        t2 = time.perf_counter()
        opt.zero_grad()
        losses.backward()
        t3 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_max_norm)
        opt.step()
        t4 = time.perf_counter()
        losses_seen.append(loss_value)
        if it == 0 and a.save_selection:  # the first call is the selection's (the second: interm outputs)
            scores = enc_logits[0].max(-1)[0]
            torch.save({"topk_index": torch.topk(scores, model.transformer.num_queries, dim=1)[1],
                        "pred_logits": out["pred_logits"].detach(), "pred_boxes": out["pred_boxes"].detach(),
                        "interm_logits": out["interm_outputs"]["pred_logits"].detach(),
                        "interm_boxes": out["interm_outputs"]["pred_boxes"].detach()}, a.save_selection)
            res_terms = {k: float(v) for k, v in loss_dict.items()}
        if it < a.warmup:
            continue
        for k, v in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)):
            phases[k].append(v * 1e3)
    res = {k: v for k, v in phases.items()}
    res["loss"] = losses_seen
    if a.save_selection:
        res["terms"] = res_terms
    res["checkpointing"] = bool(a.ogd_checkpoint)
    res["threads"] = torch.get_num_threads()
    res["vmhwm_mb"], res["ru_maxrss_mb"] = peak_rss()
    emit(res)


# ------------------------------------------------------------------ driver (no torch here)
CHILD_ENV = dict(os.environ)


def run_child(cmd, what):
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=CHILD_ENV)
    if r.returncode != 0:
        sys.exit(f"{what} failed ({r.returncode}):\n{' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        sys.exit(f"{what}: no RESULT line\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    res = json.loads(lines[-1][len("RESULT "):])
    print(f"  [{time.strftime('%H:%M:%S')}] {what}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return res


def py_cmd(a, role, *extra):
    return [sys.executable, os.path.abspath(__file__), "--role", role, "--gdino", a.gdino, "--ogd", a.ogd,
            "--bert-src", a.bert_src, "--tok-src", a.tok_src, "--vocab", a.vocab, "--threads", str(a.threads),
            "--weights", a.weights, "--inputs", a.inputs, *(["--no-drop-path"] if a.no_drop_path else []), *extra]


def seer_cmd(a, mode, *extra):
    dp = ["--set", "model.backbone.drop_path_rate=0", "--set", "model.fusion_droppath=0",
          "--set", "model.text_encoder.hidden_dropout=0", "--set", "model.text_encoder.attention_dropout=0"] \
        if a.no_drop_path else []
    return [a.bin, mode, "--config", SEER_CONFIG, "--weights", a.weights, "--inputs", a.inputs,
            "--caption", CAPTION, "--threads", str(a.threads),
            "--set", f"model.text_encoder.vocab={a.vocab}", *dp, *extra]


def fmt_row(name, off, ours, unit="ms"):
    ratio = off / ours if ours else float("nan")
    return f"  {name:34s} {off:12.1f} {ours:12.1f} {ratio:8.2f}"


def check_loss(a):
    """The first training loss of both sides, deterministic (no drop path, no dropout) and seer given the
    official query selection (scores that nearly tie may be ranked either way; one swapped slot changes
    every query through the decoder's self-attention). Both images get the same caption: with two different
    captions the official batch gives the shorter one other text features than it gets alone (its [SEP]
    and mask-tiling quirks, text_prompt.h), which seer does not reproduce on purpose."""
    a.no_drop_path = True
    sel = os.path.join(a.work, "official_train_selection.pth")
    one = ["--iters", "0", "--warmup", "1", "--same-caption"]
    o = run_child(py_cmd(a, "train", *one, "--save-selection", sel), "Open-GroundingDino: first training loss")
    s = run_child(seer_cmd(a, "train", *one, "--selection", sel), "seer: first training loss")
    s_own = run_child(seer_cmd(a, "train", *one), "seer: first training loss, own selection")
    lo, ls, lw = o["loss"][0], s["loss"][0], s_own["loss"][0]
    if "compare" in s:
        print("seer's first-iteration outputs (official selection) vs Open-GroundingDino's: " +
              ", ".join(f"{k} {v:.3g}" for k, v in s["compare"].items()))
    wd = {k: v for k, v in o["terms"].items()}
    print("Open-GroundingDino terms (unweighted): " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(wd.items())
                                                                if not k[-1].isdigit()))
    print("seer terms (weighted): " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(s.get("terms", {}).items())
                                                 if not k[-1].isdigit()))
    print(f"first training loss (batch 2 at {TRAIN_HW[0]}x{TRAIN_HW[1]}, one caption, train mode, drop path and dropout off): "
          f"Open-GroundingDino {lo:.6f}, seer with the official query selection {ls:.6f} (relative difference "
          f"{abs(ls - lo) / abs(lo):.2e}); seer with its own selection {lw:.6f} ({abs(lw - lo) / abs(lo):.2e})")


def driver(a):
    t_start = time.time()
    os.makedirs(a.work, exist_ok=True)
    if not (os.path.exists(a.weights) and os.path.exists(a.inputs)):
        print("preparing hashed weights and inputs ...", file=sys.stderr)
        prep = run_child(py_cmd(a, "prep"), "prep (official model, hashed weights; inputs)")
        if prep:
            print(f"  {prep['entries']} state_dict entries, {prep['parameters']} parameters", file=sys.stderr)
    if a.check_loss:
        return check_loss(a)
    summary = {"machine": {"cores": os.cpu_count(), "threads": a.threads},
               "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg())}

    # 1. inference, interleaved
    seer_inf, off_inf = [], []
    seer_out = os.path.join(a.work, "seer_outputs.pth")
    off_out = os.path.join(a.work, "official_outputs.pth")
    for r in range(a.rounds):
        extra = ["--runs", str(a.runs), "--warmup", str(a.warmup)]
        # round 1: seer saves its outputs, the official run compares the query selection and saves its own;
        # round 2: seer runs once more (untimed) with the official selection and compares the outputs
        seer_extra = ["--out", seer_out] if r == 0 else ["--selection", off_out] if r == 1 else []
        seer_inf.append(run_child(seer_cmd(a, "infer", *extra, *seer_extra), f"round {r + 1}: seer inference"))
        off_extra = ["--compare", seer_out, "--save-official", off_out] if r == 0 else []
        off_inf.append(run_child(py_cmd(a, "infer", *extra, *off_extra), f"round {r + 1}: official inference"))
    selection = off_inf[0].get("selection")
    compare = next((x["compare"] for x in seer_inf if "compare" in x), None)
    s_all = [x for r in seer_inf for x in r["forward_ms"]]
    o_all = [x for r in off_inf for x in r["forward_ms"]]
    summary["inference"] = {"seer_ms": s_all, "official_ms": o_all, "seer_median": median(s_all),
                            "official_median": median(o_all), "compare": compare, "selection": selection,
                            "round_ratios": [median(o["forward_ms"]) / median(s["forward_ms"]) for s, o in zip(seer_inf, off_inf)],
                            "seer_rss_mb": median([r["vmhwm_mb"] for r in seer_inf]),
                            "official_rss_mb": median([r["vmhwm_mb"] for r in off_inf])}

    # 2. seer extras (bf16, stage profile, text cache, batched predict)
    extras = None
    if not a.skip_extras:
        extras = run_child(seer_cmd(a, "extras", "--runs", str(a.extra_runs), "--warmup", "1",
                                    "--batch-reps", str(a.batch_reps)), "seer extras (bf16, profile, cache, batch)")
    summary["extras"] = extras

    # 3. training, interleaved
    seer_tr, off_tr, off_ck = [], [], None
    if not a.skip_train:
        extra = ["--iters", str(a.iters), "--warmup", str(a.train_warmup)]
        for r in range(a.train_rounds):
            seer_tr.append(run_child(seer_cmd(a, "train", *extra), f"round {r + 1}: seer training"))
            off_tr.append(run_child(py_cmd(a, "train", *extra), f"round {r + 1}: Open-GroundingDino training"))
        if a.ogd_checkpoint_run:
            off_ck = run_child(py_cmd(a, "train", "--ogd-checkpoint", "--iters", "1", "--warmup", "1"),
                               "Open-GroundingDino training, gradient checkpointing on (cfg_odvg.py as shipped)")
    summary["train"] = {"seer": seer_tr, "official": off_tr, "official_checkpointing": off_ck}
    summary["wall_s"] = time.time() - t_start
    with open(os.path.join(a.work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)

    # ---------------------------------------------------------------- report
    th = a.threads
    print(f"Grounding DINO Swin-T (SwinT_OGC, bert-base 12 layers), {th} thread(s) (torch: {off_inf[0].get('threads')} "
          f"official / {seer_inf[0].get('threads')} seer; OPENBLAS_NUM_THREADS={CHILD_ENV['OPENBLAS_NUM_THREADS']}); "
          f"{a.rounds} alternating rounds; load average before: {summary['load_before']}")
    print(f"\n1. inference {INFER_HW[0]}x{INFER_HW[1]}, batch 1, \"{CAPTION}\": median of {len(o_all)} official / "
          f"{len(s_all)} seer runs ({a.runs} per round after {a.warmup} warm-up)")
    print(f"  {'':34s} {'official':>12s} {'seer':>12s} {'ratio':>8s}")
    print(fmt_row("forward ms", median(o_all), median(s_all)))
    print(f"  per-round ratios: {' '.join(f'{x:.2f}' for x in summary['inference']['round_ratios'])}")
    print(f"  all runs ms: official {' '.join(f'{x:.0f}' for x in o_all)} | seer {' '.join(f'{x:.0f}' for x in s_all)}")
    print(fmt_row("peak RSS MiB (VmHWM)", summary["inference"]["official_rss_mb"], summary["inference"]["seer_rss_mb"]))
    if selection:
        print(f"  query selection (seer's own vs official): same set of 900 {selection['same_set']}, "
              f"{selection['slots_differing']} slots in another order, whose official scores differ by at most "
              f"{selection['differing_slots_max_score_gap']:.3g} ({selection['neighbours_within_1e-5']} neighbours "
              f"of the official top 901 lie within 1e-5)")
    if compare:
        print(f"  outputs with the official selection: max |pred_logits diff| {compare['pred_logits_max_abs_diff']:.3g} "
              f"(logits up to {compare['pred_logits_max_abs']:.3g}), max |pred_boxes diff| "
              f"{compare['pred_boxes_max_abs_diff']:.3g}, same -inf padding: {compare['same_inf_padding']}")
    os_ = {k: median([r["stages"][k] for r in off_inf]) for k in off_inf[0]["stages"]}
    ss = {k: median([r["stages"][k] for r in seer_inf]) for k in seer_inf[0]["stages"]}
    ss["input_proj"] = ss["input_proj/conv_gn"] + ss["input_proj/mask_pos"]
    ss["query_selection"] += ss["query_selection/prepare"]
    print("  stages (median ms; official: forward hooks, seer: the bench's timed copy of forward)")
    rows = [("backbone (Swin; official + pos. emb.)", os_["backbone"], ss["backbone"]),
            ("BERT + feat_map (seer + tokenizer)", os_["bert"], ss["bert"]),
            ("input_proj (seer + masks, pos. emb.)", os_["input_proj"], ss["input_proj"]),
            ("encoder: fusion (bi-attention)", os_["enc_fusion"], ss["enc_fusion"]),
            ("encoder: text layers", os_["enc_text"], ss["enc_text"]),
            ("encoder: deformable layers", os_["enc_deformable"], ss["enc_deformable"]),
            ("query selection (+ flatten, ref.)", os_["query_selection"], ss["query_selection"]),
            ("decoder layers", os_["decoder"], ss["decoder"]),
            ("rest (official: tokenizer, heads)", os_["other"], ss["other"])]
    for n, o, s in rows:
        print(fmt_row(n, o, s))
    print(fmt_row("sum of the stages", sum(r[1] for r in rows), sum(r[2] for r in rows)))
    print(f"  seer's input_proj: convs + GroupNorm {ss['input_proj/conv_gn']:.0f} ms, masks + sine position "
          f"embeddings {ss['input_proj/mask_pos']:.0f} ms; query selection: flatten + reference points "
          f"{ss['query_selection/prepare']:.0f} ms")
    print(f"  (seer's timed copy vs the library forward: max |diff| "
          f"{max(r['profile_copy_max_diff'] for r in seer_inf):.3g})")
    if extras:
        e = extras
        print(f"\n2. seer only (one process, {a.extra_runs} runs after 1 warm-up)")
        print(f"  forward fp32 {e['fp32_ms']:.0f} ms, bf16 autocast {e['bf16_ms']:.0f} ms ({e['fp32_ms'] / e['bf16_ms']:.2f}x); "
              f"bf16 vs fp32: max |box diff| {e['bf16_box_diff']:.3g}, same top-1 token per query "
              f"{e['bf16_same_top_token']:.3f}")
        print(f"  predict image A then image B, same prompt: first {e['predict_first_ms']:.0f} ms, second "
              f"{e['predict_second_ms']:.0f} ms (text cache hits +{e['cache_hits_per_pair']:.0f} per pair); CPU time "
              f"{e['predict_first_cpu_ms']:.0f} / {e['predict_second_cpu_ms']:.0f} ms; encode_text alone "
              f"{e['encode_text_ms']:.0f} ms (CPU {e['encode_text_cpu_ms']:.0f} ms)")
        print(f"  predict 4 images of {BATCH_HW[0]}x{BATCH_HW[1]}: one batched call {e['batch4_ms']:.0f} ms vs 4 single calls {e['single4_ms']:.0f} ms "
              f"({e['single4_ms'] / e['batch4_ms']:.2f}x)")
    if seer_tr:
        ks = ("forward_ms", "loss_ms", "backward_ms", "optimizer_ms", "iteration_ms")
        so = {k: median([x for r in seer_tr for x in r[k]]) for k in ks}
        oo = {k: median([x for r in off_tr for x in r[k]]) for k in ks}
        print(f"\n3. training iteration, batch 2 at {TRAIN_HW[0]}x{TRAIN_HW[1]}: median of {a.train_rounds} x {a.iters} "
              f"iterations after {a.train_warmup} warm-up per process; official without gradient checkpointing")
        print(f"  {'':34s} {'official':>12s} {'seer':>12s} {'ratio':>8s}")
        for k in ks:
            print(fmt_row(k.replace("_ms", " ms"), oo[k], so[k]))
        srss = median([r["vmhwm_mb"] for r in seer_tr])
        orss = median([r["vmhwm_mb"] for r in off_tr])
        print(fmt_row("peak RSS MiB (VmHWM)", orss, srss))
        print(f"  ru_maxrss MiB: official {median([r['ru_maxrss_mb'] for r in off_tr]):.0f}, seer "
              f"{median([r['ru_maxrss_mb'] for r in seer_tr]):.0f}")
        print(f"  per-round iteration ratios: " + " ".join(
            f"{median(o['iteration_ms']) / median(s['iteration_ms']):.2f}" for s, o in zip(seer_tr, off_tr)))
        print(f"  first-iteration loss: official {off_tr[0]['loss'][0]:.4f}, seer {seer_tr[0]['loss'][0]:.4f} " +
              ("(drop path off on both sides: must agree)" if a.no_drop_path else
               "(drop path and BERT dropout are random on both sides; --no-drop-path makes them comparable)"))
        if off_ck:
            print(fmt_row("official with checkpointing: iter ms", median(off_ck["iteration_ms"]), so["iteration_ms"]))
            print(fmt_row("  ... peak RSS MiB", off_ck["vmhwm_mb"], srss))
    print(f"\nwall time {summary['wall_s']:.0f} s; load average after: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; summary: {os.path.join(a.work, 'summary.json')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", default="driver", choices=["driver", "prep", "infer", "train"])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench_grounding_dino"))
    ap.add_argument("--gdino", default="/tmp/refs/GroundingDINO")
    ap.add_argument("--ogd", default="/tmp/refs/Open-GroundingDino")
    ap.add_argument("--bert-src", default="/tmp/refs/pytorch-pretrained-BERT")
    ap.add_argument("--tok-src", default="/tmp/refs/bert")
    ap.add_argument("--vocab", default="/work/shared/data/tokenizers/bert-base-uncased-vocab.txt")
    ap.add_argument("--work", default="/tmp/seer_gdino_bench")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--inputs", default=None)
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of both sides: torch.set_num_threads and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS "
                         "(on a busy shared machine 1 is steadier: two threads wait for each other at every op)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating inference rounds")
    ap.add_argument("--runs", type=int, default=1, help="timed forwards per inference process")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--extra-runs", type=int, default=1, help="seer extras: runs of each timed item")
    ap.add_argument("--batch-reps", type=int, default=1, help="seer extras: repetitions of batched vs single predict")
    ap.add_argument("--train-rounds", type=int, default=2)
    ap.add_argument("--iters", type=int, default=1, help="timed training iterations per process")
    ap.add_argument("--train-warmup", type=int, default=1)
    ap.add_argument("--ogd-checkpoint", action="store_true", help="(train role) cfg_odvg.py's gradient checkpointing on")
    ap.add_argument("--ogd-checkpoint-run", type=int, default=0,
                    help="driver: 1 = one more official training run with it on (+ ~4 min)")
    ap.add_argument("--no-drop-path", action="store_true",
                    help="training without drop path (Swin, fusion) and BERT dropout on both sides: deterministic, "
                         "the first losses must agree")
    ap.add_argument("--check-loss", action="store_true",
                    help="driver: only check the first training loss of both sides (--no-drop-path, seer given the "
                         "official query selection)")
    ap.add_argument("--save-selection", default=None, help="(train role) save the first iteration's query selection")
    ap.add_argument("--same-caption", action="store_true", help="(train role) caption 0 for every image")
    ap.add_argument("--skip-extras", action="store_true")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--compare", default=None, help="(infer role) seer's outputs: compare its query selection")
    ap.add_argument("--save-official", default=None, help="(infer role) save the official outputs and selection")
    a = ap.parse_args()
    a.weights = a.weights or os.path.join(a.work, "gdino_swint_hashed.pth")
    a.inputs = a.inputs or os.path.join(a.work, "inputs.pth")
    a.gdino, a.ogd = os.path.abspath(a.gdino), os.path.abspath(a.ogd)
    # torch's threads (OpenMP) are set by --threads in each child; Debian's torch and LibTorch do their
    # float32 GEMMs in OpenBLAS (pthread build), whose own pool would take every core whatever
    # set_num_threads says: both sides get the same count through its variable.
    CHILD_ENV["OPENBLAS_NUM_THREADS"] = CHILD_ENV["OMP_NUM_THREADS"] = str(a.threads)
    if a.role == "driver":
        driver(a)
    else:
        import warnings
        warnings.filterwarnings("ignore")
        {"prep": role_prep, "infer": role_infer, "train": role_train}[a.role](a)


if __name__ == "__main__":
    main()
