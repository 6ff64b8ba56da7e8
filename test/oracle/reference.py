#!/usr/bin/python3
"""PyTorch test oracle for ichnet (run with Debian's /usr/bin/python3: torch, numpy; no torchvision needed).

An independent, plain-PyTorch implementation of the contracts in docs/ARCHITECTURE.md: preprocessing
steps 1, 3 (evaluation resize only) and 5 (§3), the model (§4) and the Asymmetric Loss (§5). The
TypeScript tests run the C++ addon and this script on the same inputs and compare the outputs.

    /usr/bin/python3 test/oracle/reference.py <forward|sgd-step|make-weights|grad-cam|ddp-steps> <dir>

<dir> holds config.json, weights.safetensors, batch.json + images.bin and optionally labels.bin
(uint8 [B,S,L]); see main() for what each command writes. Choices made here:
  * width multiplier: every VGG channel count c becomes max(1, round(c * width)) with Python's
    round (ties to even; no tie arises for the widths used in tests);
  * the backbone and the label RNN run on the valid slices only (padding rows are zeros), so in
    `sgd-step` (train mode) BatchNorm batch statistics cover exactly the valid slices;
  * the loss (also reported by `forward`) is ASL over valid slices / number of valid slices, plus
    aux_weight * the same ASL of label_rnn.linear_final's logits when both RNNs are on;
  * ddp-steps: one rank of PyTorch DDP (torch.distributed, Gloo; RANK, WORLD_SIZE, MASTER_ADDR and
    MASTER_PORT from the environment, as torchrun sets them): SGD steps on <dir>/step<k>-rank<r>/,
    DDP's defaults (broadcast_buffers, bucketing); rank 0 writes ddp-after.safetensors. With
    config.distributed.sync_bn, every BatchNorm takes its training statistics over all ranks
    (AllRanksBatchNorm2d: nn.SyncBatchNorm refuses CPU tensors in this PyTorch);
  * make-weights: torch.manual_seed(0), PyTorch default init except convs (torchvision's
    kaiming_normal fan_out, plus small random biases) and BatchNorm (random affine and running
    stats, num_batches_tracked = 7) so that tests can tell eval-mode BN from an identity;
  * grad-cam: Grad-CAM as its paper defines it, on the output of the last convolution block (the
    backbone's features without the final max-pool), for every valid (patient, slice, label) in
    patient-major order: autograd of that one logit with respect to all the block's activations,
    then ReLU(sum_k mean_xy(dY/dA_k) * A_k) on the slice's own activations.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

# ---------------------------------------------------------------- safetensors (hand-written)
_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
           "U8": torch.uint8, "BOOL": torch.bool}
_NAMES = {v: k for k, v in _DTYPES.items()}
assert sys.byteorder == "little"


def save_safetensors(tensors, path, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # pad so the data starts 8-byte aligned, as the reference writer does
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def load_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = int.from_bytes(buf[:8], "little")
    if n + 8 > len(buf):
        raise ValueError(f"{path}: header length {n} exceeds file size")
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    data, out = buf[8 + n:], {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape = _DTYPES[info["dtype"]], info["shape"]
        begin, end = info["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * torch.empty((), dtype=dtype).element_size() or end > len(data):
            raise ValueError(f"{path}: bad data_offsets for {name}")
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if count else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(shape)
    return out


# ---------------------------------------------------------------- model (§4)
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def make_layers(cfg, batch_norm):
    """torchvision.models.vgg.make_layers, verbatim in structure (hence its module indices)."""
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class Backbone(nn.Module):
    def __init__(self, kind, width):
        super().__init__()
        if kind not in ("vgg16", "vgg16_bn"):
            raise ValueError(f"unknown backbone {kind!r}")
        cfg = [v if v == "M" else max(1, round(v * width)) for v in VGG16_CFG]
        self.features = make_layers(cfg, kind == "vgg16_bn")
        self.out_channels = cfg[-2]

    def forward(self, x):  # [N,3,H,W] -> [N,C], global average pooling
        return self.features(x).mean(dim=(2, 3))


class LabelRNN(nn.Module):  # the seed's DecoderBinaryRNN
    def __init__(self, mode, c, hidden, num_labels):
        super().__init__()
        self.mode, self.num_labels = mode, num_labels
        self.linear_img_to_lstm = nn.Linear(c, hidden)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[mode](1, hidden, 1, batch_first=True, bidirectional=True)
        setattr(self, mode, rnn)
        self.linear_final = nn.Linear(2 * hidden, 1)

    def forward(self, f):  # [N,C] -> per-label features [N,L,2H], logits [N,L]
        h0 = self.linear_img_to_lstm(f).unsqueeze(0).repeat(2, 1, 1)
        zero_input = f.new_zeros(f.shape[0], self.num_labels, 1)
        if self.mode == "lstm":
            hiddens, _ = self.lstm(zero_input, (h0, torch.zeros_like(h0)))
        else:
            hiddens, _ = self.gru(zero_input, h0)
        return hiddens, self.linear_final(hiddens).squeeze(-1)


class SliceRNN(nn.Module):
    def __init__(self, mode, d, hidden, num_labels):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[mode](d, hidden, 1, batch_first=True, bidirectional=True)
        self.mode = mode
        setattr(self, mode, rnn)
        self.fc = nn.Linear(2 * hidden, num_labels)

    def forward(self, x, lengths):  # [B,S,D] -> [B,S,L]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = getattr(self, self.mode)(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return self.fc(out)


class Net(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.L = len(m["labels"])
        self.backbone = Backbone(m["backbone"], float(m.get("width", 1.0)))
        c = self.backbone.out_channels
        lr, sr = m.get("label_rnn", "lstm"), m.get("slice_rnn", "gru")
        if lr not in ("lstm", "gru", "none") or sr not in ("lstm", "gru", "none"):
            raise ValueError(f"bad label_rnn/slice_rnn: {lr!r}/{sr!r}")
        self.label_rnn = LabelRNN(lr, c, m["label_hidden"], self.L) if lr != "none" else None
        d = self.L * 2 * m["label_hidden"] if self.label_rnn is not None else c
        self.slice_rnn = SliceRNN(sr, d, m["slice_hidden"], self.L) if sr != "none" else None
        if self.label_rnn is None and self.slice_rnn is None:
            self.head = nn.Linear(c, self.L)

    def forward(self, x, lengths):
        """x [B,S,3,H,W] -> slice logits [B,S,L], aux logits [B,S,L] or None, features [B*S,C]."""
        B, S = x.shape[:2]
        valid = (torch.arange(S, device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)).reshape(-1)  # [B*S]

        def padded(rows):  # rows of the valid slices -> [B*S, ...] with zero rows for padding
            out = rows.new_zeros((B * S,) + tuple(rows.shape[1:]))
            out[valid] = rows
            return out

        fv = self.backbone(x.reshape(B * S, *x.shape[2:])[valid])
        f = padded(fv)
        aux = None
        if self.label_rnn is not None:
            hiddens, aux = self.label_rnn(fv)
            feat, aux = padded(hiddens).reshape(B, S, -1), padded(aux).reshape(B, S, self.L)
        else:
            feat = f.reshape(B, S, -1)
        if self.slice_rnn is not None:
            return self.slice_rnn(feat, lengths), aux, f
        if self.label_rnn is not None:
            return aux, None, f
        return self.head(f).reshape(B, S, self.L), None, f


# ---------------------------------------------------------------- preprocessing (§3 steps 1, 3-resize, 5)
def head_boxes(images, lengths):
    """prep.crop: head. images int16 HU [B,S,1,H,W] -> per series (x0, y0, x1, y1) in pixel edges: the
    bounding box of the pixels above -500 HU over its valid slices, widened by ceil(1/16 of its
    longer side) on each side and made square around its centre; the whole slice if there are none."""
    B, S, _, H, W = images.shape
    boxes = []
    for b in range(B):
        ys, xs = np.nonzero((images[b, : int(lengths[b]), 0] > -500).any(0).numpy())
        if len(xs) == 0:
            boxes.append((0, 0, W, H))
            continue
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
        longer = max(x1 - x0, y1 - y0)
        side = longer + 2 * math.ceil(longer / 16)
        x0 -= (side - (x1 - x0)) // 2
        y0 -= (side - (y1 - y0)) // 2
        boxes.append((x0, y0, x0 + side, y0 + side))
    return boxes


def crop_resize(x, box, size):
    """x [N,3,H,W] -> [N,3,size,size]: the box (zeros past the slice) resampled bilinearly."""
    N, _, H, W = x.shape
    x0, y0, x1, y1 = box
    theta = torch.tensor([[(x1 - x0) / W, 0, (x0 + x1) / W - 1], [0, (y1 - y0) / H, (y0 + y1) / H - 1]], dtype=torch.float32)
    grid = F.affine_grid(theta.expand(N, 2, 3), [N, 3, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def preprocess(images, prep, size, lengths=None):
    """images: tensor [B,S,C,H,W] of int16 (HU), uint8 or float32 (already preprocessed) -> float32 [B,S,3,h,w].
    With prep.crop: head (int16 only), each series' head box is resampled (lengths: its valid slices)."""
    if images.dtype == torch.float32:
        if images.shape[2] != 3:
            raise ValueError("float32 input must have 3 channels")
        return images
    B, S, C, H, W = images.shape
    x = images.to(torch.float32)
    if images.dtype == torch.int16:
        if C != 1:
            raise ValueError("int16 (HU) input must have 1 channel")
        windows = prep.get("windows", [[40, 80], [80, 200], [600, 2800]])
        x = torch.cat([((x - (c - w / 2)) / w).clamp(0, 1) for c, w in windows], dim=2)
    elif images.dtype == torch.uint8:
        if C not in (1, 3):
            raise ValueError("uint8 input must have 1 or 3 channels")
        x = x / 255
    else:
        raise ValueError(f"unsupported dtype {images.dtype}")
    if x.shape[2] == 1:
        x = x.repeat(1, 1, 3, 1, 1)
    if x.shape[2] != 3:
        raise ValueError(f"preprocessing gives {x.shape[2]} channels, need 1 or 3 windows")
    if prep.get("crop", "none") == "head":
        if images.dtype != torch.int16:
            raise ValueError("prep.crop: head needs int16 (HU) input")
        boxes = head_boxes(images, lengths if lengths is not None else [S] * B)
        x = torch.stack([crop_resize(x[b], boxes[b], size) for b in range(B)])
    else:
        x = F.interpolate(x.reshape(B * S, 3, H, W), size=(size, size), mode="bilinear", align_corners=False)
    mean = torch.tensor(prep.get("mean", [0.485, 0.456, 0.406]), dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(prep.get("std", [0.229, 0.224, 0.225]), dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / std).reshape(B, S, 3, size, size)


# ---------------------------------------------------------------- loss (§5)
def asl(logits, targets, valid, cfg):
    """Asymmetric loss summed over valid slices x labels, divided by the number of valid slices."""
    x, y = logits[valid], targets[valid].to(logits.dtype)  # [V, L]
    gneg, gpos = float(cfg.get("gamma_neg", 4)), float(cfg.get("gamma_pos", 1))
    clip, eps = float(cfg.get("clip", 0.05)), float(cfg.get("eps", 1e-8))
    p = torch.sigmoid(x)
    p_m = (1 - p + clip).clamp(max=1) if clip > 0 else 1 - p
    loss = y * torch.log(p.clamp(min=eps)) + (1 - y) * torch.log(p_m.clamp(min=eps))
    if gneg > 0 or gpos > 0:
        loss = loss * torch.pow(1 - (p * y + p_m * (1 - y)), gpos * y + gneg * (1 - y))
    return -loss.sum() / x.shape[0]


def total_loss(net, logits, aux, labels, valid, cfg):
    loss = asl(logits, labels, valid, cfg)
    w = float(cfg.get("aux_weight", 0))
    if w > 0 and net.label_rnn is not None and net.slice_rnn is not None:
        loss = loss + w * asl(aux, labels, valid, cfg)
    return loss


# ---------------------------------------------------------------- I/O and commands
def build(cfg):
    return Net(cfg["model"])


def build_seeded(cfg):
    torch.manual_seed(0)
    net = build(cfg)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0, 0.1)
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
    return net


def input_size(cfg):
    """The model's input size: prep.input_size (model.input_size in configs written before it moved)."""
    prep = cfg.get("prep", {})
    return int(prep["input_size"] if "input_size" in prep else cfg["model"]["input_size"])


def load_batch(d, num_labels):
    with open(os.path.join(d, "batch.json")) as f:
        meta = json.load(f)
    dtype = {"float32": "<f4", "uint8": "u1", "int16": "<i2"}.get(meta["dtype"])
    if dtype is None:
        raise ValueError(f"batch dtype must be float32, uint8 or int16, not {meta['dtype']!r}")
    shape = [int(v) for v in meta["shape"]]
    if len(shape) != 5:
        raise ValueError("batch shape must be [B,S,C,H,W]")
    arr = np.fromfile(os.path.join(d, "images.bin"), dtype=dtype)
    if arr.size != np.prod(shape):
        raise ValueError(f"images.bin holds {arr.size} values, shape {shape} needs {np.prod(shape)}")
    images = torch.from_numpy(arr.reshape(shape))  # '<' is the native order (asserted above)
    B, S = shape[:2]
    lengths = torch.tensor(meta["lengths"], dtype=torch.int64)
    if lengths.shape != (B,) or (lengths < 1).any() or (lengths > S).any():
        raise ValueError(f"lengths must be {B} ints in 1..{S}")
    labels, lp = None, os.path.join(d, "labels.bin")
    if os.path.exists(lp):
        lab = np.fromfile(lp, dtype="u1")
        if lab.size != B * S * num_labels:
            raise ValueError(f"labels.bin holds {lab.size} bytes, need B*S*L = {B * S * num_labels}")
        labels = torch.from_numpy(lab.reshape(B, S, num_labels).copy())
    return images, lengths, labels


class AllRanksBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics cover every rank's batch: the count, sum and sum of
    squares (float64) summed by torch.distributed.nn.functional.all_reduce, which autograd
    differentiates (its backward all-reduces the gradient), so the whole layer is plain autograd."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        c, dims, shape = x.shape[1], (0, 2, 3), (1, x.shape[1], 1, 1)
        x64 = x.double()
        local = torch.cat([x64.new_tensor([x.numel() // c]), x64.sum(dims), (x64 * x64).sum(dims)])
        total = all_reduce(local)
        n, mean = total[0], total[1:1 + c] / total[0]
        var = total[1 + c:] / n - mean * mean
        with torch.no_grad():
            self.num_batches_tracked += 1
            self.running_mean.copy_((1 - self.momentum) * self.running_mean + self.momentum * mean)
            self.running_var.copy_((1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1))
        y = (x64 - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return (y * self.weight.double().view(shape) + self.bias.double().view(shape)).to(x.dtype)


def with_all_ranks_batch_norm(net):
    """Replaces every nn.BatchNorm2d of the backbone with AllRanksBatchNorm2d (same state-dict keys)."""
    feats = net.backbone.features
    for i, m in enumerate(feats):
        if isinstance(m, nn.BatchNorm2d):
            feats[i] = AllRanksBatchNorm2d(m.num_features, eps=m.eps, momentum=m.momentum)
    return net


def ddp_steps(d, cfg):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        net = build(cfg)
        if (cfg.get("distributed") or {}).get("sync_bn", False):
            net = with_all_ranks_batch_norm(net)
        net.load_state_dict(load_safetensors(os.path.join(d, "weights.safetensors")), strict=True)
        lcfg = cfg.get("loss", {})
        # The label RNN's own head is unused when both RNNs are on and its auxiliary loss is off.
        unused = net.label_rnn is not None and net.slice_rnn is not None and not float(lcfg.get("aux_weight", 0)) > 0
        ddp = DistributedDataParallel(net, find_unused_parameters=unused)
        # L2 decay as ichnet's SGD applies it; it moves a parameter only when it has a gradient, so
        # that an unused parameter's None gradient is told from a zero one.
        opt = torch.optim.SGD(ddp.parameters(), lr=float(cfg["optim"]["lr"]), weight_decay=float(cfg["optim"].get("weight_decay", 0)))
        ddp.train()
        k = 0
        while os.path.isdir(os.path.join(d, f"step{k}-rank{rank}")):
            images, lengths, labels = load_batch(os.path.join(d, f"step{k}-rank{rank}"), net.L)
            x = preprocess(images, cfg.get("prep", {}), input_size(cfg))
            valid = torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
            opt.zero_grad()
            logits, aux, _ = ddp(x, lengths)
            total_loss(net, logits, aux, labels, valid, lcfg).backward()
            opt.step()
            k += 1
        if rank == 0:
            save_safetensors(net.state_dict(), os.path.join(d, "ddp-after.safetensors"), {"format": "pt"})
    finally:
        dist.destroy_process_group()


def grad_cam(net, x, lengths):
    """Maps [T,h,w], targets [T,3] and logits [B,S,L] for every valid slice and label (eval mode)."""
    B, S = x.shape[:2]
    valid = (torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1)).reshape(-1)
    feats = net.backbone.features
    with torch.no_grad():
        a = feats[:-1](x.reshape(B * S, *x.shape[2:])[valid])
    a.requires_grad_(True)
    fv = feats[-1](a).mean(dim=(2, 3))

    # The rest of Net.forward, from the pooled features of the valid slices.
    def padded(rows):
        out = rows.new_zeros((B * S,) + tuple(rows.shape[1:]))
        out[valid] = rows
        return out

    if net.label_rnn is not None:
        hiddens, aux = net.label_rnn(fv)
        feat, aux = padded(hiddens).reshape(B, S, -1), padded(aux).reshape(B, S, net.L)
    else:
        feat = padded(fv).reshape(B, S, -1)
    if net.slice_rnn is not None:
        logits = net.slice_rnn(feat, lengths)
    elif net.label_rnn is not None:
        logits = aux
    else:
        logits = net.head(padded(fv)).reshape(B, S, net.L)
    maps, targets, row = [], [], 0
    for b in range(B):
        for s in range(int(lengths[b])):
            for l in range(net.L):
                (g,) = torch.autograd.grad(logits[b, s, l], a, retain_graph=True)
                w = g[row].mean(dim=(1, 2), keepdim=True)
                maps.append(torch.relu((w * a[row]).sum(0)).detach())
                targets.append([b, s, l])
            row += 1
    return torch.stack(maps), torch.tensor(targets, dtype=torch.float32), logits.detach()


def main(argv):
    commands = ("forward", "sgd-step", "make-weights", "grad-cam", "ddp-steps")
    if len(argv) != 3 or argv[1] not in commands:
        raise SystemExit(f"usage: reference.py <{'|'.join(commands)}> <dir>")
    torch.set_num_threads(int(os.environ.get("ICHNET_ORACLE_THREADS", "2")))
    cmd, d = argv[1], argv[2]
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    if cmd == "ddp-steps":
        ddp_steps(d, cfg)
        return
    if cmd == "make-weights":
        net = build_seeded(cfg)
        save_safetensors(net.state_dict(), os.path.join(d, "weights.safetensors"), {"format": "pt"})
        return
    net = build(cfg)
    net.load_state_dict(load_safetensors(os.path.join(d, "weights.safetensors")), strict=True)
    images, lengths, labels = load_batch(d, net.L)
    if cmd == "sgd-step" and labels is None:
        raise ValueError("sgd-step needs labels.bin")
    x = preprocess(images, cfg.get("prep", {}), input_size(cfg), lengths)
    B, S = x.shape[:2]
    valid = torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1)  # [B,S]
    lcfg = cfg.get("loss", {})
    if cmd == "grad-cam":
        net.eval()
        maps, targets, logits = grad_cam(net, x, lengths)
        out = {"maps": maps, "targets": targets, "logits": logits.masked_fill(~valid.unsqueeze(-1), 0)}
        if cfg.get("prep", {}).get("crop", "none") == "head":
            out["boxes"] = torch.tensor(head_boxes(images, lengths), dtype=torch.float32)
    elif cmd == "forward":
        net.eval()
        with torch.no_grad():
            logits, aux, feats = net(x, lengths)
            probs = torch.sigmoid(logits).masked_fill(~valid.unsqueeze(-1), float("-inf")).amax(dim=1)
            out = {"logits": logits.masked_fill(~valid.unsqueeze(-1), 0), "patient_probs": probs, "features": feats}
            if labels is not None:
                out["loss"] = total_loss(net, logits, aux, labels, valid, lcfg).reshape(1)
    else:
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=float(cfg["optim"]["lr"]))
        opt.zero_grad()
        logits, aux, _ = net(x, lengths)
        loss = total_loss(net, logits, aux, labels, valid, lcfg)
        loss.backward()
        opt.step()
        out = {"loss": loss.detach().reshape(1), "logits": logits.detach().masked_fill(~valid.unsqueeze(-1), 0)}
        save_safetensors(net.state_dict(), os.path.join(d, "after.safetensors"), {"format": "pt"})
    save_safetensors({k: v.float() for k, v in out.items()}, os.path.join(d, "out.safetensors"))


if __name__ == "__main__":
    try:
        main(sys.argv)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - any failure is a non-zero exit with a message
        print(f"reference.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
