#!/usr/bin/python3
"""How far a lesion's effect reaches through VGG16, and how much of a Grad-CAM map is that effect
(driven by bench/lesion-spread.mjs, which writes the phantom renders; Debian's /usr/bin/python3
with torch, or ICHNET_PYTHON).

    lesion_spread.py DIR    DIR/meta.json and the renders bench/lesion-spread.mjs wrote

The model is the tests' independent PyTorch model (test/oracle/reference.py) with the checkpoint's
weights, or with torchvision's initialisation (the weights training starts from). Everything is
measured on the model's own grids (no upsampling): a map cell "touches" the lesion when any pixel
of the lesion's mask falls in the cell's share of the slice.

* Spread, per block (the ReLU before each max-pool): the lesion's effect is the absolute change of
  the block's activations, summed over channels, between the slice rendered with only that lesion
  type and rendered with none (the renders differ only inside the mask). Printed: the share of that
  change on the cells the lesion touches, those cells' share of the grid, and the share of the grid
  the change reaches (above 1 % of its largest cell).
* Grad-CAM (trained weights only), on every true-positive slice and label: with the channel weights
  the map uses (the spatial mean of the logit's gradient on conv5_3, through the label and slice
  RNNs as ichnet computes it), the weighted sum of conv5_3 on the slice (the map before its ReLU)
  and the same weighted sum on the lesion-free render of that slice. Their difference is the
  lesions' part of the map. Printed: the map's share on the cells the lesion touches, the lesions'
  part's share there, and the mass the map keeps when the lesions are removed.
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
# bench/reference.py (under its own module name): the tests' model as `oracle`, and torchvision's
# VGG initialisation, the weights training starts from.
spec = importlib.util.spec_from_file_location("ichnet_bench_reference", os.path.join(HERE, "reference.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
oracle = bench.oracle

BLOCKS = ["conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"]


def touched(mask, cells):
    """Cells of a cells × cells grid over the slice that hold a mask pixel."""
    return F.adaptive_max_pool2d(mask[None, None].float(), cells)[0, 0] > 0


def share_on(value, where):
    total = value.sum()
    return float(value[where].sum() / total) if total > 0 else float("nan")


def quartiles(values):
    v = sorted(x for x in values if x == x)
    if not v:
        return "—"
    q = lambda p: v[min(len(v) - 1, max(0, round(p * (len(v) - 1))))]  # noqa: E731
    return f"{q(0.5):.2f} [{q(0.25):.2f}, {q(0.75):.2f}]"


def main(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    cfg, labels = meta["config"], meta["labels"]
    L, size = len(labels), meta["inputSize"]
    torch.set_num_threads(int(os.environ.get("ICHNET_ORACLE_THREADS", "2")))
    net = oracle.build(cfg)
    if meta["weights"]:
        net.load_state_dict(oracle.load_safetensors(meta["weights"]), strict=True)
    else:
        torch.manual_seed(0)
        bench.torchvision_init(net)
    net.eval()
    feats = net.backbone.features
    ends = [i - 1 for i, m in enumerate(feats) if isinstance(m, torch.nn.MaxPool2d)]

    def read(i, tag, S, n):
        return torch.from_numpy(np.fromfile(os.path.join(d, f"p{i}_{tag}.bin"), dtype="<i2").reshape(S, 1, n, n))

    def blocks(hu):
        x = oracle.preprocess(hu.unsqueeze(0), cfg["prep"], size)[0]
        out = []
        with torch.no_grad():
            for k, m in enumerate(feats):
                x = m(x)
                if k in ends:
                    out.append(x.clone())
        return out

    def logits_of(a, S):
        """Slice logits [S, L] of one series from its conv5_3 activations (Net.forward after the backbone)."""
        fv = feats[-1](a).mean(dim=(2, 3))
        if net.label_rnn is not None:
            hiddens, aux = net.label_rnn(fv)
            feat = hiddens.reshape(1, S, -1)
        else:
            feat = fv.reshape(1, S, -1)
        if net.slice_rnn is not None:
            return net.slice_rnn(feat, torch.tensor([S]))[0]
        if net.label_rnn is not None:
            return aux
        return net.head(fv)

    spread = {b: [] for b in BLOCKS}
    cam = {t: [] for t in labels}
    for i, p in enumerate(meta["patients"]):
        S, n = p["slices"], p["size"]
        lab = np.array(p["labels"], dtype=np.uint8).reshape(S, L)
        plain_hu = read(i, "plain", S, n)
        plain = blocks(plain_hu)
        masks = {}  # per lesion type on the patient: its mask on every slice [S, n, n]
        for l, t in enumerate(labels):
            if not lab[:, l].any():
                continue
            only_hu = read(i, t, S, n)
            masks[t] = only_hu[:, 0] != plain_hu[:, 0]
            only = blocks(only_hu)
            for s in np.nonzero(lab[:, l])[0]:
                for b, a1, a0 in zip(BLOCKS, only, plain):
                    delta = (a1[s] - a0[s]).abs().sum(0)
                    at = touched(masks[t][s], delta.shape[0])
                    reached = float((delta > 0.01 * delta.max()).float().mean())
                    spread[b].append((share_on(delta, at), float(at.float().mean()), reached))
        if not meta["weights"]:
            continue
        full_hu = read(i, "full", S, n)
        full = blocks(full_hu)[-1]
        a = full.clone().requires_grad_(True)
        logits = logits_of(a, S)
        for l, t in enumerate(labels):
            for s in np.nonzero(lab[:, l])[0]:
                if torch.sigmoid(logits[s, l]) < meta["thresholds"][l]:
                    continue
                (g,) = torch.autograd.grad(logits[s, l], a, retain_graph=True)
                w = g[s].mean(dim=(1, 2), keepdim=True)
                with_lesions = (w * full[s]).sum(0)
                without = (w * plain[-1][s]).sum(0)
                at = touched(masks[t][s], with_lesions.shape[0])
                kept = float(torch.relu(without).sum() / torch.relu(with_lesions).sum())
                cam[t].append((share_on(torch.relu(with_lesions), at), share_on(torch.relu(with_lesions - without), at), kept, float(at.float().mean())))

    print(f"{len(meta['patients'])} phantoms (seed {meta['seed']}), input {size}², weights: {meta['weights'] or 'torchvision initialisation (seed 0)'}")
    print("\nspread of a lesion's effect, per block — median [q1, q3] over positive slice-labels")
    print("block     n    share on the lesion's cells  lesion's cells of the grid  grid reached")
    for b in BLOCKS:
        r = spread[b]
        print(f"{b:<9} {len(r):<4} {quartiles([x[0] for x in r]):<28} {quartiles([x[1] for x in r]):<27} {quartiles([x[2] for x in r])}")
    if meta["weights"]:
        print("\nGrad-CAM on conv5_3, true positives — median [q1, q3]")
        print("label  n    map on the lesion's cells  lesions' part there        kept without the lesions   lesion's cells of the grid")
        every = [x for t in labels for x in cam[t]]
        for t, r in [*cam.items(), ("all", every)]:
            print(f"{t:<6} {len(r):<4} {quartiles([x[0] for x in r]):<26} {quartiles([x[1] for x in r]):<26} {quartiles([x[2] for x in r]):<26} {quartiles([x[3] for x in r])}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: lesion_spread.py DIR")
    main(sys.argv[1])
