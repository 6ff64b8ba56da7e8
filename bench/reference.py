#!/usr/bin/python3
"""The PyTorch side of `npm run bench` (driven by bench/run.mjs; Debian's /usr/bin/python3 with
torch, torchvision, cv2, pydicom and numpy, or ICHNET_PYTHON).

    reference.py serve               JSON-lines commands on stdin, replies on fd 3
    reference.py e2e '<json>'        one training epoch of the quickstart model; result on fd 3
    reference.py predict '<json>'    a checkpoint's predictions for a folder of studies; result on fd 3
    reference.py ddp '<json>'        one rank of the ddp rows (torchrun's environment); result on fd 3

Written the way a PyTorch user would write the same work, not as a transliteration of ichnet:

  * data: a per-patient `Dataset` (the model needs whole series) in a `DataLoader` with
    `num_workers` worker processes (= ichnet's thread count), persistent workers, an
    epoch-aware sampler for seeded per-patient augmentation, OpenCV limited to one thread per
    worker (the usual setting: the workers are the parallelism). Per slice: pydicom decode →
    HU (slope/intercept) → three CT windows quantised to 8 bits (numpy) → `cv2.createCLAHE(2.0,
    (8, 8))` per channel → one `cv2.warpAffine` that does flip + rotation + scale + translation +
    the resize to the model's size (bilinear, zero border) on the 3-channel uint8 image. Per
    patient (vectorised over its slices): brightness/contrast jitter in [0, 1], ImageNet
    normalisation, HWC → CHW. Collation pads series and stacks into shared memory.
  * model, loss: `test/oracle/reference.py`'s `Net` and `asl` (an independent PyTorch
    implementation of ichnet's model and ASL) with torchvision's VGG initialisation (as
    `torchvision.models.vgg16_bn()` and ichnet do), `torch.optim.Adam`, `torch.set_num_threads`.
  * inference: `net.eval()` under `torch.inference_mode()`.
  * on the CPU with `precision: bf16` (the bench's default on CPUs with native bf16, as ichnet's
    `precision: auto`): `torch.autocast("cpu", dtype=torch.bfloat16)` around forward and loss.
  * on CUDA (`device: cuda`), PyTorch's standard fast recipe: `torch.autocast` (bf16), channels_last
    weights, `cudnn.benchmark`, batches from pinned host memory copied with `non_blocking=True`,
    `pin_memory=True` in the DataLoader; the host → device copy of each batch is timed (ichnet's
    step takes host arrays too).
"""
import csv
import json
import math
import os
import resource
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the oracle

import cv2  # noqa: E402
import numpy as np
import pydicom
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data._utils.collate import default_collate

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_oracle():
    """test/oracle/reference.py (Net, asl), under its own module name (this file is also called reference.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("ichnet_oracle", os.path.join(HERE, "..", "test", "oracle", "reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


oracle = _load_oracle()

WINDOWS = [(40.0, 80.0), (80.0, 200.0), (600.0, 2800.0)]  # brain, subdural, bone
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# ichnet's augmentation defaults at full strength
AUG = dict(p=0.8, flip=0.5, rotation=15.0, scale=(0.9, 1.1), translate=0.05, brightness=0.1, contrast=0.1)
LABELS = ["ich", "ivh", "sah", "sdh", "edh"]

try:
    PROTO = os.fdopen(3, "w", buffering=1, closefd=False)
except OSError:  # run by hand: replies on stdout
    PROTO = sys.stdout


def reply(obj):
    PROTO.write(json.dumps(obj) + "\n")
    PROTO.flush()


# ---------------------------------------------------------------- data
def read_index(root):
    """train.csv (dirname, ID, label columns; one row per slice in slice order) -> patients."""
    patients = {}
    with open(os.path.join(root, "train.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        for row in reader:
            pid, sid = row[0], row[1]
            p = patients.setdefault(pid, {"id": pid, "paths": [], "labels": []})
            p["paths"].append(os.path.join(root, "train", pid, sid + ".dcm"))
            p["labels"].append([int(v) for v in row[2:]])
    out = list(patients.values())
    for p in out:
        p["labels"] = np.array(p["labels"], dtype=np.uint8)
    return out, header[2:]


def read_hu(path):
    ds = pydicom.dcmread(path)
    slope = float(getattr(ds, "RescaleSlope", 1.0))
    intercept = float(getattr(ds, "RescaleIntercept", 0.0))
    return ds.pixel_array.astype(np.float32) * slope + intercept


def windows_u8(hu):
    """HU -> [H, W, 3] uint8, one CT window per channel, rounded to 256 grey levels."""
    out = np.empty(hu.shape + (3,), dtype=np.uint8)
    for k, (c, w) in enumerate(WINDOWS):
        v = (hu - (c - w / 2)) * (255.0 / w)
        np.clip(v, 0, 255, out=v)
        np.rint(v, out=v)
        out[..., k] = v
    return out


def sample_aug(rng):
    """One patient's parameters (the same for every slice of the series), or None."""
    if rng.random() >= AUG["p"]:
        return None
    return dict(
        flip=rng.random() < AUG["flip"],
        angle=rng.uniform(-AUG["rotation"], AUG["rotation"]),
        scale=rng.uniform(*AUG["scale"]),
        tx=rng.uniform(-AUG["translate"], AUG["translate"]),
        ty=rng.uniform(-AUG["translate"], AUG["translate"]),
        brightness=rng.uniform(-AUG["brightness"], AUG["brightness"]),
        contrast=1 + rng.uniform(-AUG["contrast"], AUG["contrast"]),
    )


def affine_matrix(h, w, size, a):
    """2x3 source->destination matrix: flip, rotation, scale and translation about the centre, then the resize."""
    s = size / max(h, w)
    if a is None:
        lin = np.array([[size / w, 0.0], [0.0, size / h]])
        t = np.zeros(2)
    else:
        th = math.radians(a["angle"])
        rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
        lin = s * a["scale"] * rot @ np.diag([-1.0 if a["flip"] else 1.0, 1.0])
        t = np.array([a["tx"], a["ty"]]) * size
    cin = np.array([w / 2 - 0.5, h / 2 - 0.5])
    cout = np.array([size / 2 - 0.5, size / 2 - 0.5])
    off = cout + t - lin @ cin
    return np.hstack([lin, off[:, None]]).astype(np.float64)


class PatientSeries(Dataset):
    """One item = one patient: a (random, in training) window of up to max_slices slices, fully preprocessed."""

    def __init__(self, patients, size, max_slices, train, seed):
        self.patients, self.size, self.max_slices, self.train, self.seed = patients, size, max_slices, train, seed
        self.clahe = None

    def __len__(self):
        return len(self.patients)

    def __getitem__(self, key):
        epoch, idx = key
        p = self.patients[idx]
        rng = np.random.default_rng([self.seed, epoch, idx])
        n = len(p["paths"])
        start = int(rng.integers(0, n - self.max_slices + 1)) if self.train and n > self.max_slices else 0
        stop = min(n, start + self.max_slices)
        a = sample_aug(rng) if self.train else None
        if self.clahe is None:
            self.clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        slices = []
        for path in p["paths"][start:stop]:
            img = windows_u8(read_hu(path))
            img = cv2.merge([self.clahe.apply(img[..., k]) for k in range(3)])
            h, w = img.shape[:2]
            slices.append(cv2.warpAffine(img, affine_matrix(h, w, self.size, a), (self.size, self.size),
                                         flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0))
        x = np.stack(slices).astype(np.float32)
        x *= 1.0 / 255
        if a is not None:  # colour jitter in [0, 1] space, per slice mean
            m = x.mean(axis=(1, 2, 3), keepdims=True)
            x = np.clip((x - m) * a["contrast"] + m + a["brightness"], 0.0, 1.0)
        x = (x - MEAN) / STD
        x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # [S, 3, H, W]
        return x, torch.from_numpy(p["labels"][start:stop])


def collate(items):
    """Pads series to the longest and stacks (default_collate allocates in shared memory inside workers)."""
    lengths = torch.tensor([x.shape[0] for x, _ in items], dtype=torch.int64)
    S = int(lengths.max())

    def pad(t):
        return t if t.shape[0] == S else torch.cat([t, t.new_zeros((S - t.shape[0],) + tuple(t.shape[1:]))])

    return default_collate([pad(x) for x, _ in items]), lengths, default_collate([pad(y) for _, y in items])


class EpochSampler(Sampler):
    """Yields (epoch, index) so seeded per-patient augmentation works with persistent workers."""

    def __init__(self, n, shuffle, seed):
        self.n, self.shuffle, self.seed, self.epoch = n, shuffle, seed, 0

    def __len__(self):
        return self.n

    def __iter__(self):
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle else np.arange(self.n)
        return iter([(self.epoch, int(i)) for i in order])


def worker_init(_):
    cv2.setNumThreads(int(os.environ.get("BENCH_CV2_THREADS", "1")))


def make_loader(patients, size, max_slices, train, seed, batch, workers, persistent=True, pin=False):
    ds = PatientSeries(patients, size, max_slices, train, seed)
    sampler = EpochSampler(len(ds), train, seed)
    loader = DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers, collate_fn=collate,
                        worker_init_fn=worker_init, persistent_workers=persistent and workers > 0,
                        prefetch_factor=2 if workers > 0 else None, pin_memory=pin)
    return loader, sampler


# ---------------------------------------------------------------- model
def model_cfg(model):
    m = dict(model)
    m.setdefault("labels", LABELS)
    return m


def torchvision_init(net):
    """torchvision's VGG initialisation of the convolutions (what `torchvision.models.vgg16_bn()` does, and
    what ichnet does): kaiming_normal_ fan_out, zero bias. PyTorch's default init shrinks activations
    through 13 layers, which is not what anyone trains from."""
    for mod in net.modules():
        if isinstance(mod, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
            torch.nn.init.zeros_(mod.bias)
    return net


def valid_mask(lengths, S):
    return torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1)


STATE = {}


def cmd_info(p):
    if p.get("device") == "cuda":
        return {**_info(), "gpu": torch.cuda.get_device_name(0), "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version()}
    return _info()


def cmd_ceiling(_):
    """The GPU's measured dense bf16 matrix rate (8192³ products on random data, median of 10 after 3 warm-ups)."""
    n = 8192
    a, b = (torch.randn(n, n, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    times = []
    for i in range(13):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        torch.cuda.synchronize()
        if i >= 3:
            times.append(start.elapsed_time(end) / 1000)
    times.sort()
    return {"bf16TflopsPerSecond": 2 * n ** 3 / times[len(times) // 2] / 1e12}


def _info():
    return {"torch": torch.__version__, "torchvision": __import__("torchvision").__version__,
            "cv2": cv2.__version__, "numpy": np.__version__, "pydicom": pydicom.__version__,
            "python": sys.version.split()[0], "threads": torch.get_num_threads(),
            "parallel": torch.__config__.parallel_info().splitlines()[-1].strip()}


def cmd_data_setup(p):
    patients, _ = read_index(p["root"])
    patients = patients[: p["patients"]]
    loader, sampler = make_loader(patients, p["inputSize"], p["maxSlices"], True, p["seed"],
                                  p["patientsPerBatch"], p["workers"])
    STATE["data"] = (loader, sampler)
    return {"patients": len(patients), "slices": sum(len(q["paths"]) for q in patients)}


def cmd_data_rep(p):
    loader, sampler = STATE["data"]
    sampler.epoch = p["epoch"]
    slices = 0
    t0 = time.perf_counter()
    for x, lengths, _ in loader:
        slices += int(lengths.sum())
    return {"seconds": time.perf_counter() - t0, "slices": slices}


def gpu_recipe(p, net):
    """Moves the net to p's device with channels_last weights when p asks (the default on CUDA; on the CPU oneDNN
    also runs NHWC faster, and ichnet uses it by default), and on CUDA sets cudnn.benchmark. Returns (device,
    autocast dtype or None)."""
    device = torch.device(p.get("device", "cpu"))
    if device.type != "cuda":
        if p.get("channelsLast", False):
            net.to(memory_format=torch.channels_last)
        # bf16 autocast on the CPU when the run asks for it (as ichnet's side then runs it).
        return device, {"bf16": torch.bfloat16}.get(p.get("precision", "fp32"))
    torch.backends.cudnn.benchmark = True
    net.to(device, memory_format=torch.channels_last if p.get("channelsLast", True) else torch.contiguous_format)
    return device, {"bf16": torch.bfloat16, "fp16": torch.float16}.get(p.get("precision", "bf16"))


def autocast(device, dtype):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def model_state(p, net, m, optimized=None):
    """What a training step needs: `net` (or its DDP wrapper, `optimized`) on p's device, Adam, a random batch."""
    device, amp = gpu_recipe(p, net)
    B, S, H = p["patients"], p["slices"], m["input_size"]
    opt = p.get("optim", {})
    optimizer = torch.optim.Adam(net.parameters(), lr=opt.get("lr", 1e-4), foreach=p.get("foreach"))
    x = torch.randn(B, S, 3, H, H)
    lengths = torch.full((B,), S, dtype=torch.int64)
    labels = (torch.rand(B, S, len(m["labels"])) < 0.2).to(torch.uint8)
    if device.type == "cuda":
        x, labels = x.pin_memory(), labels.pin_memory()
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    return dict(net=net, opt=optimizer, x=x, lengths=lengths, labels=labels, device=device, amp=amp,
                scaler=scaler, valid=valid_mask(lengths, S).to(device))


def cmd_model_setup(p):
    torch.set_num_threads(p["threads"])
    torch.manual_seed(p.get("seed", 0))
    m = model_cfg(p["model"])
    net = torchvision_init(oracle.Net(m))
    STATE["model"] = model_state(p, net, m)
    B, S = p["patients"], p["slices"]
    return {"parameters": sum(t.numel() for t in net.parameters()), "threads": torch.get_num_threads(), "slices": B * S}


def cmd_train_rep(params):
    """`settle` untimed steps (the first after another process had the cores), then `steps` timed back to back."""
    settle, steps = int(params.get("settle", 0)), int(params.get("steps", 1))
    for _ in range(settle):
        train_step(STATE["model"])
    out = [train_step(STATE["model"]) for _ in range(steps)]
    return {"seconds": sum(o["seconds"] for o in out), "slices": sum(o["slices"] for o in out), "loss": out[-1]["loss"]}


def train_step(s):
    net, opt, device = s["net"], s["opt"], s["device"]
    t0 = time.perf_counter()
    net.train()
    x = s["x"].to(device, non_blocking=True)
    labels = s["labels"].to(device, non_blocking=True)
    opt.zero_grad(set_to_none=True)
    with autocast(device, s["amp"]):
        logits, _, _ = net(x, s["lengths"])
        loss = oracle.asl(logits.float(), labels, s["valid"], {})
    if s["scaler"] is not None:
        s["scaler"].scale(loss).backward()
        s["scaler"].step(opt)
        s["scaler"].update()
    else:
        loss.backward()
        opt.step()
    value = loss.item()
    return {"seconds": time.perf_counter() - t0, "slices": int(s["lengths"].sum()), "loss": value}


def cmd_infer_rep(params):
    """As cmd_train_rep: `settle` untimed passes, then `steps` timed."""
    settle, steps = int(params.get("settle", 0)), int(params.get("steps", 1))
    for _ in range(settle):
        infer_step()
    out = [infer_step() for _ in range(steps)]
    return {"seconds": sum(o["seconds"] for o in out), "slices": sum(o["slices"] for o in out)}


def infer_step():
    s = STATE["model"]
    net, device = s["net"], s["device"]
    t0 = time.perf_counter()
    net.eval()
    with torch.inference_mode(), autocast(device, s["amp"]):
        logits, _, _ = net(s["x"].to(device, non_blocking=True), s["lengths"])
        logits = logits.float()
        probs = torch.sigmoid(logits).masked_fill(~s["valid"].unsqueeze(-1), 0).amax(dim=1)
        logits.cpu().numpy().copy(), probs.cpu().numpy().copy()
    return {"seconds": time.perf_counter() - t0, "slices": int(s["lengths"].sum())}


COMMANDS = {"info": cmd_info, "ceiling": cmd_ceiling, "data-setup": cmd_data_setup, "data-rep": cmd_data_rep,
            "model-setup": cmd_model_setup, "train-rep": cmd_train_rep, "infer-rep": cmd_infer_rep}


def serve():
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            fn = COMMANDS.get(msg["cmd"])
            if fn is None:
                raise ValueError(f"unknown command {msg['cmd']!r}")
            reply({"id": msg["id"], "ok": True, "result": fn(msg.get("params") or {})})
        except Exception as e:  # noqa: BLE001 - reported to the driver
            import traceback
            reply({"id": msg["id"], "ok": False, "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"})


# ---------------------------------------------------------------- end to end
def ddp(p):
    """One rank of the ddp rows. With p["distributed"], started once per rank with torchrun's
    environment: DistributedDataParallel (Gloo on the CPU, NCCL on CUDA; find_unused_parameters, as
    the label RNN's own head gets no gradient without the auxiliary loss) and an unwrapped copy of the
    same model, each with its random batch; after warm-ups it alternates DDP steps and steps of the
    copy in ABBA order, so that both kinds run while the other ranks do the same, every step starting
    after `dist.barrier()` (bench/ichnet.mjs's ddp says why). Without, the copy alone."""
    import copy
    import datetime

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(p["threads"])
    rank, local_rank = int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0))
    cuda = p.get("device") == "cuda"
    if cuda:
        torch.cuda.set_device(local_rank)
    torch.manual_seed(p.get("seed", 0))
    m = model_cfg(p["model"])
    net = torchvision_init(oracle.Net(m))
    dp = None
    if p["distributed"]:
        dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=120))
        twin = copy.deepcopy(net)
        torch.manual_seed(p.get("seed", 0) + 1 + rank)
        dp = model_state(p, twin, m)
        dp["net"] = DistributedDataParallel(twin, device_ids=[local_rank] if cuda else None, find_unused_parameters=True)
    torch.manual_seed(p.get("seed", 0) + 1 + rank)
    local = model_state(p, net, m)
    times = {"dp": [], "local": []}
    try:
        for r in range(p["warmup"] + p["reps"]):
            kinds = ["local"] if dp is None else ["dp", "local"] if r % 2 == 0 else ["local", "dp"]
            for kind in kinds:
                if dp is not None:
                    dist.barrier()
                seconds = train_step(dp if kind == "dp" else local)["seconds"]
                if r >= p["warmup"]:
                    times[kind].append(seconds)
    finally:
        if dp is not None:
            dist.destroy_process_group()
    return {"rank": rank, "slices": p["patients"] * p["slices"], **times,
            "backend": ("nccl" if cuda else "gloo") if dp is not None else None}


def e2e(p):
    """One epoch of the quickstart model (Adam 1e-3, 2 patients a step, 24-slice windows, augmentation, CLAHE),
    then a validation pass and a checkpoint, as a compact PyTorch training script would."""
    t_start = time.perf_counter()
    threads, workers, seed = p["threads"], p["workers"], p.get("seed", 0)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    patients, label_names = read_index(p["root"])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(patients))
    n_val = max(1, round(p["validation"] * len(patients)))
    val = [patients[i] for i in order[:n_val]]
    train = [patients[i] for i in order[n_val:]]
    m = dict(p["model"], labels=label_names)  # the quickstart model, as bench/run.mjs gives both sides
    net = torchvision_init(oracle.Net(m))
    device, amp = gpu_recipe(p, net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    pin = device.type == "cuda"
    train_loader, sampler = make_loader(train, 96, 24, True, seed, 2, workers, persistent=False, pin=pin)
    val_loader, _ = make_loader(val, 96, 64, False, seed, 2, workers, persistent=False, pin=pin)

    t0 = time.perf_counter()
    net.train()
    slices, steps, loss_sum = 0, 0, 0.0
    for x, lengths, labels in train_loader:
        x, labels = x.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        with autocast(device, amp):
            logits, _, _ = net(x, lengths)
            loss = oracle.asl(logits.float(), labels, valid_mask(lengths, x.shape[1]).to(device), {})
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        loss_sum += loss.item()
        slices += int(lengths.sum())
        steps += 1
    t_train = time.perf_counter() - t0

    net.eval()
    val_loss, val_batches = 0.0, 0
    with torch.inference_mode(), autocast(device, amp):
        for x, lengths, labels in val_loader:
            x, labels = x.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            logits, _, _ = net(x, lengths)
            val_loss += float(oracle.asl(logits.float(), labels, valid_mask(lengths, x.shape[1]).to(device), {}))
            val_batches += 1
    t_epoch = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        torch.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, os.path.join(d, "last.pt"))
    t_end = time.perf_counter()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpuSeconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        "trainSeconds": t_train,
        "epochWithValidationSeconds": t_epoch,
        "fitSeconds": t_end - t_start,
        "steps": steps,
        "slices": slices,
        "validationPatients": len(val),
        "trainLoss": loss_sum / max(1, steps),
        "valLoss": val_loss / max(1, val_batches),
        "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "maxRssChildrenBytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }


# ---------------------------------------------------------------- prediction
def predict(p):
    """What `ichnet predict` does, as a compact PyTorch script: the checkpoint's weights (model.safetensors), every
    study of the folder (DICOM -> HU -> 3 windows -> CLAHE -> 96², whole series in chunks of 64 slices, 2 studies a
    batch, DataLoader workers), sigmoid, and a per-slice CSV with 0/1 decisions at 0.5 plus the per-study maxima."""
    t_start = time.perf_counter()
    threads, workers = p["threads"], p["workers"]
    torch.set_num_threads(threads)
    patients, label_names = read_index(p["root"])
    net = oracle.Net(dict(p["model"], labels=label_names))
    net.load_state_dict(oracle.load_safetensors(p["weights"]), strict=True)
    device, amp = gpu_recipe(p, net)
    net.eval()
    loader, _ = make_loader(patients, p["model"]["input_size"], 64, False, 0, 2, workers, persistent=False, pin=device.type == "cuda")
    # Chunks of 64 slices: every series here is shorter, so one item = one whole study, in order.
    probs, i, slices = [], 0, 0
    with torch.inference_mode(), autocast(device, amp):
        for x, lengths, _ in loader:
            logits, _, _ = net(x.to(device, non_blocking=True), lengths)
            pr = torch.sigmoid(logits.float()).cpu().numpy()
            for b, n in enumerate(lengths.tolist()):
                probs.append(pr[b, :n])
                slices += n
    with open(p["out"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient", "slice"] + label_names + [f"{l}_pred" for l in label_names])
        for patient, pr in zip(patients, probs):
            for path, row in zip(patient["paths"], pr):
                sid = os.path.splitext(os.path.basename(path))[0]
                w.writerow([patient["id"], sid] + [f"{v:.7g}" for v in row] + [int(v >= 0.5) for v in row])
    with open(os.path.splitext(p["out"])[0] + ".patients.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient"] + label_names)
        for patient, pr in zip(patients, probs):
            w.writerow([patient["id"]] + [f"{v:.7g}" for v in pr.max(axis=0)])
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "seconds": time.perf_counter() - t_start,
        "studies": len(probs),
        "slices": slices,
        "cpuSeconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        "maxRssBytes": own.ru_maxrss * 1024,
    }


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    one_shot = {"e2e": e2e, "predict": predict, "ddp": ddp}
    if mode == "serve":
        serve()
    elif mode in one_shot:
        try:
            reply({"id": 0, "ok": True, "result": one_shot[mode](json.loads(argv[2]))})
        except Exception as e:  # noqa: BLE001
            reply({"id": 0, "ok": False, "error": f"{type(e).__name__}: {e}"})
            sys.exit(1)
    else:
        sys.exit("usage: reference.py <serve|e2e|predict|ddp> [json]")


if __name__ == "__main__":
    main(sys.argv)
