/**
 * The CPU preprocessing pipeline end to end (docs/ARCHITECTURE.md §3) against OpenCV + PyTorch doing
 * each step the obvious way: float32 windows, quantised to 256 levels, `cv2.createCLAHE`, then
 * `F.affine_grid` + `F.grid_sample` (training) or `F.interpolate` (evaluation), colour jitter and
 * normalisation. ichnet fuses these per slice and reads raw pixels through lookup tables, so this
 * checks the fused path computes the same thing; preprocess.test.ts checks each step's meaning.
 * Each case also runs through the batched tensor pipeline on the CPU device (`prep.where:
 * device`, CLAHE as tensor operations), which must stay within 1e-3 of the host path.
 * With `prep.crop: head` the reference finds each series' head box with numpy (reference.py's
 * head_boxes) and, without augmentation, crops it (zeros past the slice) and resizes the crop; with
 * augmentation it moves the box's coordinates by the augmentation's theta.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { augParamNames, preprocess, type Batch } from '../src/index.js';
import { packageRoot } from '../src/package-root.js';
import { runPython } from './helpers/oracle.js';
import { rng } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('ichnet-pipeline-');
after(() => rmSync(dir, { recursive: true, force: true }));

const WINDOWS: [number, number][] = [
  [40, 80],
  [80, 200],
  [600, 2800],
];
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * Two patients (2 and 3 valid slices of 3) of smooth CT-like HU with noise, H x W; the head is an
 * ellipse of radii `rx`, `ry` (fractions of the width and height) off the centre by `dx`, `dy`;
 * `rx` 0 leaves the first patient all air.
 */
function huBatch(seed: number, height: number, width: number, head = { rx: 0.447, ry: 0.447, dx: 0, dy: 0, emptyFirst: false }): Batch {
  const r = rng(seed);
  const S = 3;
  const images = new Int16Array(2 * S * height * width);
  for (let s = 0; s < 2 * S; s++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const ex = ((x + 0.5) / width - 0.5 - head.dx) / head.rx;
        const ey = ((y + 0.5) / height - 0.5 - head.dy) / head.ry;
        const e = ex * ex + ey * ey;
        const inside = e < 1 && !(head.emptyFirst && s < S);
        const v = inside ? 20 + 40 * Math.sin(x / 7 + s) + 30 * ey + (r() - 0.5) * 60 + (e > 0.85 ? 900 : 0) : -1000 + Math.round((r() - 0.5) * 40);
        images[(s * height + y) * width + x] = Math.round(v);
      }
    }
  }
  return { images, shape: [2, S, 1, height, width], lengths: Int32Array.from([2, 3]) };
}

function grayBatch(seed: number, size: number): Batch {
  const r = rng(seed);
  const images = Uint8Array.from({ length: 2 * size * size }, (_, i) => Math.min(255, Math.floor(((i % size) / size) * 200 + r() * 55)));
  return { images, shape: [1, 2, 1, size, size], lengths: Int32Array.from([2]) };
}

/** Per-patient augmentation rows for `patients` patients: moved, the first mirrored, with jitter. */
function augRows(patients: number): Float32Array {
  const rows = [
    { flip: 1, rotation: 0.3, scale: 1.1, translate_x: 0.05, translate_y: -0.03, brightness: 0.05, contrast: 1.2, gamma: 1.3 },
    { flip: 0, rotation: -0.2, scale: 0.9, translate_x: -0.04, translate_y: 0.02, brightness: -0.08, contrast: 0.9, gamma: 1 },
  ];
  return Float32Array.from(rows.slice(0, patients).flatMap((row) => augParamNames().map((n) => row[n as keyof typeof row])));
}

/** The reference: the steps one by one, in float32, on the valid slices. */
const ORACLE = `
import json, sys
import cv2, numpy as np, torch, torch.nn.functional as F
spec = json.load(open(sys.argv[1]))
B, S, C, H, W = spec['shape']
img = torch.from_numpy(np.fromfile(spec['images'], dtype=spec['dtype']).reshape(B, S, C, H, W).astype(np.int64))
lengths, size = spec['lengths'], spec['size']
idx = [(b, s, max(s - 1, 0), min(s + 1, lengths[b] - 1)) for b in range(B) for s in range(lengths[b])]
unit = lambda x, c, w: ((x.float() - (c - w / 2)) / w).clamp(0, 1)
slices = []
for b, s, p, n in idx:
    if spec['channels'] == 'neighbors':
        raw = [img[b, p, 0], img[b, s, 0], img[b, n, 0]]
        planes = [unit(r, *spec['windows'][0]) if spec['dtype'] == 'int16' else r.float() / 255 for r in raw]
    elif spec['dtype'] == 'int16':
        planes = [unit(img[b, s, 0], c, w) for c, w in spec['windows']]
    else:
        planes = [img[b, s, c].float() / 255 for c in range(C)]
    if spec['clahe']:
        clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        planes = [torch.from_numpy(clahe.apply((q * 255).round().to(torch.uint8).numpy())).float() / 255 for q in planes]
    while len(planes) < 3:
        planes.append(planes[0])
    slices.append(torch.stack(planes))
x = torch.stack(slices)
boxes = [(0, 0, W, H)] * B
if spec['crop'] == 'head':
    sys.path.insert(0, spec['oracleDir'])
    from reference import head_boxes
    boxes = head_boxes(img, lengths)
    if spec['aug'] is None:
        crops = []
        for (b, _, _, _), plane in zip(idx, x):
            x0, y0, x1, y1 = boxes[b]
            crop = torch.zeros(3, y1 - y0, x1 - x0)
            sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
            crop[:, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = plane[:, sy0:sy1, sx0:sx1]
            crops.append(F.interpolate(crop[None], size=(size, size), mode='bilinear', align_corners=False)[0])
        x = torch.stack(crops)
if spec['aug'] is not None:
    names = spec['augNames']
    rows = []
    for b, s, _, _ in idx:
        a = dict(zip(names, spec['aug'][b * len(names):(b + 1) * len(names)]))
        flip = 1 - 2 * a['flip']
        cos = np.cos(a['rotation']) / a['scale']
        sin = np.sin(a['rotation']) / a['scale']
        x0, y0, x1, y1 = boxes[b]
        bw, bh = x1 - x0, y1 - y0
        # The augmentation moves the box's normalised coordinates; the box's map to the slice's.
        t = np.array([[cos * flip, -sin * (bh / bw), -2 * a['translate_x']], [sin * flip * (bw / bh), cos, -2 * a['translate_y']]])
        t[0] *= bw / W
        t[1] *= bh / H
        t[0, 2] += (x0 + x1) / W - 1
        t[1, 2] += (y0 + y1) / H - 1
        rows.append((t.tolist(), a))
    theta = torch.tensor([t for t, _ in rows], dtype=torch.float32)
    grid = F.affine_grid(theta, [x.shape[0], 3, size, size], align_corners=False)
    x = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    p = torch.tensor([[a['brightness'], a['contrast'], a['gamma']] for _, a in rows], dtype=torch.float32).view(-1, 3, 1, 1, 1)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = ((x - mean) * p[:, 1] + mean + p[:, 0]).clamp(0, 1).pow(p[:, 2])
elif spec['crop'] == 'none' and (x.shape[2] != size or x.shape[3] != size):
    x = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
m = torch.tensor(${JSON.stringify(MEAN)}).view(1, 3, 1, 1)
sd = torch.tensor(${JSON.stringify(STD)}).view(1, 3, 1, 1)
((x - m) / sd).numpy().astype(np.float32).tofile(spec['out'])
`;

interface Case {
  name: string;
  batch: Batch;
  clahe: boolean;
  channels?: 'windows' | 'neighbors';
  windows?: [number, number][];
  aug?: boolean;
  size: number;
  crop?: 'none' | 'head';
}

async function compare(c: Case): Promise<void> {
  const images = join(dir, `${c.name}.bin`);
  const out = join(dir, `${c.name}.ref`);
  const batch: Batch = c.aug ? { ...c.batch, aug: augRows(c.batch.shape[0]) } : c.batch;
  const windows = c.windows ?? WINDOWS;
  writeFileSync(images, Buffer.from(batch.images.buffer, batch.images.byteOffset, batch.images.byteLength));
  writeFileSync(
    join(dir, `${c.name}.json`),
    JSON.stringify({
      shape: batch.shape,
      dtype: batch.images instanceof Int16Array ? 'int16' : 'uint8',
      images,
      lengths: Array.from(batch.lengths),
      size: c.size,
      windows,
      channels: c.channels ?? 'windows',
      clahe: c.clahe,
      aug: batch.aug ? Array.from(batch.aug) : null,
      crop: c.crop ?? 'none',
      oracleDir: join(packageRoot, 'test', 'oracle'),
      augNames: augParamNames(),
      out,
    }),
  );
  runPython(ORACLE, [join(dir, `${c.name}.json`)]);
  const ref = new Float32Array(readFileSync(out).buffer.slice(0));
  const prep = { windows, clahe: { enabled: c.clahe, clip_limit: 2, tiles: [8, 8] as [number, number] }, channels: c.channels ?? 'windows', crop: c.crop ?? 'none' };
  const host = await preprocess(batch, { prep: { ...prep, where: 'host', input_size: c.size } });
  const device = await preprocess(batch, { prep: { ...prep, where: 'device', input_size: c.size }, device: 'cpu' });
  assert.equal(host.length, ref.length);
  assert.equal(device.length, ref.length);
  // Float rounding only (grid coordinates, summation order): a wrong level, tap or weight would
  // show as 0.01 or more in normalised units (one CLAHE grey level is 0.017).
  const hostError = maxAbsDiff(host, ref);
  assert.ok(hostError < 2e-4, `${c.name}: host path: max |ours - reference| = ${hostError}`);
  // The tensor pipeline on the CPU device (prep.where: device) against the host path.
  const deviceError = maxAbsDiff(device, host);
  assert.ok(deviceError < 1e-3, `${c.name}: device path: max |device - host| = ${deviceError}`);
  assert.ok(maxAbsDiff(device, ref) < 1e-3, `${c.name}: device path against the reference`);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('the host and device preprocessing pipelines match OpenCV + PyTorch step by step', () => {
  const square = huBatch(31, 64, 64);
  const wide = huBatch(32, 48, 80); // not square and not divisible by the CLAHE grid
  const cases: Case[] = [
    { name: 'windows-clahe-aug', batch: square, clahe: true, aug: true, size: 48 },
    { name: 'windows-clahe-aug-nonsquare', batch: wide, clahe: true, aug: true, size: 40 },
    { name: 'windows-clahe-resize', batch: wide, clahe: true, size: 36 },
    { name: 'windows-clahe-upsample', batch: square, clahe: true, size: 80 },
    { name: 'windows-aug-no-clahe', batch: square, clahe: false, aug: true, size: 48 },
    { name: 'one-window-clahe-aug', batch: square, clahe: true, aug: true, size: 48, windows: [[40, 80]] },
    { name: 'neighbors-clahe-aug', batch: square, clahe: true, aug: true, size: 48, channels: 'neighbors', windows: [[40, 80]] },
    { name: 'neighbors-resize', batch: wide, clahe: false, size: 32, channels: 'neighbors', windows: [[40, 80]] },
    { name: 'gray8-clahe-aug', batch: grayBatch(33, 64), clahe: true, aug: true, size: 48 },
    // The head box: off-centre heads, one reaching past the slice's edge (zeros there), one patient
    // all air (the whole slice), with and without augmentation. Box sides stay at or above the
    // input size, where cropping then resizing samples no pixel outside the crop.
    { name: 'crop-clahe-resize', batch: huBatch(34, 64, 64, { rx: 0.36, ry: 0.42, dx: 0.1, dy: -0.12, emptyFirst: false }), clahe: true, size: 40, crop: 'head' },
    { name: 'crop-clahe-aug', batch: huBatch(35, 64, 64, { rx: 0.36, ry: 0.42, dx: -0.08, dy: 0.1, emptyFirst: false }), clahe: true, aug: true, size: 40, crop: 'head' },
    { name: 'crop-nonsquare-no-clahe', batch: huBatch(36, 48, 80, { rx: 0.3, ry: 0.4, dx: 0.12, dy: 0, emptyFirst: false }), clahe: false, size: 32, crop: 'head' },
    { name: 'crop-empty-series-aug', batch: huBatch(37, 64, 64, { rx: 0.4, ry: 0.4, dx: 0, dy: 0, emptyFirst: true }), clahe: true, aug: true, size: 40, crop: 'head' },
    { name: 'crop-empty-series-resize', batch: huBatch(37, 64, 64, { rx: 0.4, ry: 0.4, dx: 0, dy: 0, emptyFirst: true }), clahe: false, size: 40, crop: 'head', channels: 'neighbors', windows: [[40, 80]] },
  ];
  for (const c of cases) it(c.name, () => compare(c));

  it('refuses prep.crop: head on 8-bit images, which carry no HU to find the head by', async () => {
    for (const where of ['host', 'device'] as const) {
      await assert.rejects(preprocess(grayBatch(38, 32), { prep: { crop: 'head', where, input_size: 32 } }), /prep\.crop: head .* needs int16 HU input; use prep\.crop: none/);
    }
  });
});
