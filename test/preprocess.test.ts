/** The native preprocessing (docs/ARCHITECTURE.md §3) against NumPy/PyTorch and geometry by hand. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { augParamNames, preprocess, type Batch } from '../src/index.js';
import { runPython } from './helpers/oracle.js';
import { relativeError } from './helpers/safetensors.js';
import { randomBatch } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('ichnet-prep-');
const plain = { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number], clahe: { enabled: false } };

/** A per-patient augmentation row: identity except for the given parameters. */
function aug(params: Partial<Record<string, number>>): Float32Array {
  const identity: Record<string, number> = { flip: 0, rotation: 0, scale: 1, translate_x: 0, translate_y: 0, brightness: 0, contrast: 1, gamma: 1, ...params };
  return Float32Array.from(augParamNames(), (n) => identity[n] as number);
}

/** Intensity-weighted centroid (x, y) of channel 0 of an N×N output. */
function centroid(out: Float32Array, n: number): [number, number] {
  let sx = 0;
  let sy = 0;
  let s = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const v = out[y * n + x] as number;
      sx += v * x;
      sy += v * y;
      s += v;
    }
  }
  return [sx / s, sy / s];
}

describe('preprocessing', () => {
  it('windows Hounsfield units, resizes bilinearly and normalises like NumPy + torch.nn.functional.interpolate', async () => {
    const batch = randomBatch(21, [2, 1], { pixels: 'int16', size: 40 });
    const windows: [number, number][] = [
      [40, 80],
      [80, 200],
      [600, 2800],
    ];
    const ours = await preprocess(batch, { prep: { windows, clahe: { enabled: false }, input_size: 32 } });
    writeFileSync(join(dir, 'hu.bin'), Buffer.from((batch.images as Int16Array).buffer));
    writeFileSync(
      join(dir, 'ref.py'),
      `
import sys, numpy as np, torch, torch.nn.functional as F
hu = np.fromfile(sys.argv[1], dtype=np.int16).reshape(2, 2, 1, 40, 40).astype(np.float64)
valid = np.concatenate([hu[0, :2], hu[1, :1]])            # lengths [2, 1]
ch = [np.clip((valid[:, 0] - (c - w / 2)) / w, 0, 1) for c, w in ${JSON.stringify(windows)}]
x = torch.from_numpy(np.stack(ch, 1)).float()
x = F.interpolate(x, size=(32, 32), mode='bilinear', align_corners=False)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
((x - mean) / std).numpy().astype(np.float32).tofile(sys.argv[2])
`,
    );
    runPython(readFileSync(join(dir, 'ref.py'), 'utf8'), [join(dir, 'hu.bin'), join(dir, 'ref.bin')]);
    const ref = new Float32Array(readFileSync(join(dir, 'ref.bin')).buffer.slice(0));
    assert.equal(ours.length, 3 * 3 * 32 * 32);
    const err = relativeError(ours, ref);
    assert.ok(err < 1e-6, `relative error ${err}`);
  });

  it('reads pixels that live in a SharedArrayBuffer (the loader\'s batches) as it reads any other', async () => {
    const batch = randomBatch(22, [2, 1], { pixels: 'int16', size: 40 });
    const images = batch.images as Int16Array;
    // A view 16 bytes into a larger shared buffer, as the loader's decode workers write into.
    const shared = new Int16Array(new SharedArrayBuffer(images.byteLength + 32), 16, images.length);
    shared.set(images);
    const prep = { windows: [[40, 80]] as [number, number][], clahe: { enabled: true }, input_size: 32 };
    const want = await preprocess(batch, { prep });
    assert.deepEqual(await preprocess({ ...batch, images: shared }, { prep }), want);
  });

  it('repeats a gray 8-bit slice to three equal channels scaled to [0, 1]', async () => {
    const batch = randomBatch(22, [1], { pixels: 'uint8', size: 32 });
    const out = await preprocess(batch, { prep: { ...plain, input_size: 32 } });
    const plane = 32 * 32;
    for (let i = 0; i < plane; i++) {
      const v = ((batch.images as Uint8Array)[i] as number) / 255;
      assert.ok(Math.abs((out[i] as number) - v) < 1e-6 && out[i] === out[i + plane] && out[i] === out[i + 2 * plane]);
    }
  });

  it('puts a marked block where flip, rotation, translation and scale should', async () => {
    const n = 64;
    const image = new Uint8Array(n * n);
    for (let y = 24; y < 28; y++) for (let x = 40; x < 44; x++) image[y * n + x] = 255; // centre (41.5, 25.5)
    const base: Batch = { images: image, shape: [1, 1, 1, n, n], lengths: Int32Array.from([1]) };
    const at = async (params: Partial<Record<string, number>>) => centroid(await preprocess({ ...base, aug: aug(params) }, { prep: { ...plain, input_size: n } }), n);
    const c = 31.5; // the image centre; the block sits at (+10, -6) from it
    const close = (got: [number, number], want: [number, number]) =>
      assert.ok(Math.abs(got[0] - want[0]) < 0.05 && Math.abs(got[1] - want[1]) < 0.05, `got (${got}), want (${want})`);
    close(await at({}), [c + 10, c - 6]);
    close(await at({ flip: 1 }), [c - 10, c - 6]);
    close(await at({ rotation: Math.PI / 2 }), [c - 6, c - 10]); // counter-clockwise on screen (y down)
    close(await at({ translate_x: 0.25, translate_y: -0.125 }), [c + 10 + 16, c - 6 - 8]);
    close(await at({ scale: 1.5 }), [c + 15, c - 9]);
  });

  it('applies brightness, contrast and gamma in [0, 1] space, clamped', async () => {
    const n = 32;
    const image = Uint8Array.from({ length: n * n }, (_, i) => (i % n) * 8); // a horizontal ramp 0..248
    const base: Batch = { images: image, shape: [1, 1, 1, n, n], lengths: Int32Array.from([1]) };
    const x = Array.from(image, (v) => v / 255);
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const expect = (f: (v: number) => number) => x.map((v) => f(v));
    const cases: [Partial<Record<string, number>>, (v: number) => number][] = [
      [{ brightness: 0.3 }, (v) => Math.min(1, v + 0.3)],
      [{ contrast: 1.5 }, (v) => Math.min(1, Math.max(0, (v - mean) * 1.5 + mean))],
      [{ gamma: 2 }, (v) => v * v],
    ];
    for (const [params, f] of cases) {
      const out = (await preprocess({ ...base, aug: aug(params) }, { prep: { ...plain, input_size: n } })).subarray(0, n * n);
      assert.ok(relativeError(out, expect(f)) < 1e-5, JSON.stringify(params));
    }
  });

  it('stacks neighbouring slices as channels, clamped at the series ends', async () => {
    const n = 32;
    const S = 3;
    const images = new Int16Array(S * n * n);
    for (let s = 0; s < S; s++) images.fill(10 * (s + 1), s * n * n, (s + 1) * n * n); // slices at 10, 20, 30 HU
    const out = await preprocess(
      { images, shape: [1, S, 1, n, n], lengths: Int32Array.from([S]) },
      { prep: { ...plain, windows: [[0, 100]], channels: 'neighbors', input_size: n } },
    );
    const level = (slice: number, channel: number) => out[(slice * 3 + channel) * n * n] as number;
    const want = [
      [0.6, 0.6, 0.7],
      [0.6, 0.7, 0.8],
      [0.7, 0.8, 0.8],
    ];
    want.forEach((row, s) => row.forEach((v, c) => assert.ok(Math.abs(level(s, c) - v) < 1e-6, `slice ${s} channel ${c}: ${level(s, c)}`)));
  });

  it('rejects augmentation parameters of the wrong size', async () => {
    const batch = randomBatch(23, [1], { pixels: 'uint8' });
    await assert.rejects(preprocess({ ...batch, aug: new Float32Array(3) }), /batch\.aug: expected 8 values \(patients x 8 parameters\), got 3/);
  });
});
