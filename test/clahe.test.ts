/**
 * CLAHE parity with OpenCV (docs/ARCHITECTURE.md §3 step 2): the same bytes go through `clahe()` and
 * through `cv2.createCLAHE(clipLimit, (tilesX, tilesY)).apply` in Debian's python3-opencv, over
 * sizes that do and do not divide by the grid, several clip limits and two grids. The contract is
 * ≥ 99.5 % of pixels within ±1 grey level; the exact-match fraction is reported as a diagnostic
 * (the implementation aims at, and currently reaches, 100 %). Every case runs through both the
 * host kernel and the batched tensor version (`device: 'cpu'`) of the device pipeline.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { IchnetError } from '../src/errors/ichnet-error.js';
import { clahe } from '../src/prep/clahe.js';
import { runPython } from './helpers/oracle.js';
import { rng } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

/** A CT-like gray slice: smooth gradient + noise + a bright disc, black outside an ellipse. */
function phantom(width: number, height: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(width * height);
  const disc = Math.min(width, height) / 5 + 0.5;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const noise = (r() + r() + r() + r() - 2) * 20; // ~N(0, 11.5)
      let v = 40 + (100 * x) / width + (60 * y) / height + noise;
      if ((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2 < disc * disc) v += 120;
      const ex = (x + 0.5) / width - 0.5;
      const ey = (y + 0.5) / height - 0.5;
      if (width > 16 && height > 16 && ex * ex + ey * ey > 0.23) v = 0; // background around the head
      out[y * width + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

const SIZES: Array<[number, number]> = [
  [512, 512],
  [500, 375], // neither axis divides by 8
  [97, 61],
  [64, 61], // width divides, height does not: OpenCV still pads a whole tile's worth of columns
  [61, 64],
  [8, 8],
  [3, 5], // smaller than the grid: the padding reflects more than once
  [1, 1],
];
const CLIPS = [0, 1, 2, 40];
const GRIDS: Array<[number, number]> = [
  [8, 8],
  [4, 6], // [tilesX, tilesY], OpenCV's tileGridSize order
];

interface Case {
  name: string;
  width: number;
  height: number;
  clipLimit: number;
  tiles: [number, number];
  image: Uint8Array;
}

const ORACLE = `
import json, sys
import cv2, numpy as np
d = sys.argv[1]
for c in json.load(open(d + '/cases.json')):
    img = np.fromfile(d + '/' + c['image'], np.uint8).reshape(c['height'], c['width'])
    out = cv2.createCLAHE(clipLimit=c['clip'], tileGridSize=(c['tx'], c['ty'])).apply(img)
    out.tofile(d + '/' + c['out'])
print(cv2.__version__)
`;

describe('clahe matches OpenCV', () => {
  const dir = tempDir('ichnet-clahe-');
  const cases: Case[] = [];
  const expected = new Map<string, Uint8Array>();
  let total = 0;
  let exact = 0;
  let close = 0;
  let opencv = '';

  for (const [width, height] of SIZES) {
    const image = phantom(width, height, width * 1000 + height);
    for (const clipLimit of CLIPS) {
      for (const tiles of GRIDS) {
        cases.push({ name: `${width}x${height} clip ${clipLimit} grid ${tiles[0]}x${tiles[1]}`, width, height, clipLimit, tiles, image });
      }
    }
  }

  before(() => {
    const manifest = cases.map((c, i) => {
      writeFileSync(join(dir, `in${i}.bin`), c.image);
      return { image: `in${i}.bin`, out: `out${i}.bin`, width: c.width, height: c.height, clip: c.clipLimit, tx: c.tiles[0], ty: c.tiles[1] };
    });
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(manifest));
    opencv = runPython(ORACLE, [dir]).trim();
    cases.forEach((c, i) => expected.set(c.name, new Uint8Array(readFileSync(join(dir, `out${i}.bin`)))));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  // The host kernel, and the tensor version the device pipeline runs (here on the CPU device).
  for (const c of cases) for (const device of [undefined, 'cpu']) {
    it(`${c.name}${device ? ` (tensor ops on ${device})` : ''}`, async (t) => {
      const original = c.image.slice();
      const got = await clahe(c.image, { width: c.width, height: c.height, clipLimit: c.clipLimit, tiles: c.tiles, device });
      const want = expected.get(c.name)!;
      assert.deepEqual(c.image, original, 'the input must not be modified');
      assert.equal(got.length, want.length);
      let same = 0;
      let within = 0;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(got[i]! - want[i]!);
        if (d === 0) same++;
        if (d <= 1) within++;
      }
      total += want.length;
      exact += same;
      close += within;
      const pct = (n: number) => ((100 * n) / want.length).toFixed(3);
      t.diagnostic(`exact ${pct(same)} %, within ±1 ${pct(within)} %`);
      assert.ok(within / want.length >= 0.995, `${c.name}: only ${pct(within)} % of pixels within ±1 of OpenCV`);
    });
  }

  it('reports the overall match', (t) => {
    assert.ok(total > 0);
    const pct = (n: number) => ((100 * n) / total).toFixed(4);
    t.diagnostic(`OpenCV ${opencv}, ${cases.length} cases × 2 (host kernel, tensor ops), ${total} pixels: exact ${pct(exact)} %, within ±1 ${pct(close)} %`);
  });
});

describe('clahe options', () => {
  const image = phantom(97, 61, 5);

  it('defaults to clipLimit 2 on an 8x8 grid', async () => {
    const byDefault = await clahe(image, { width: 97, height: 61 });
    assert.deepEqual(byDefault, await clahe(image, { width: 97, height: 61, clipLimit: 2, tiles: [8, 8] }));
  });

  it('reads a view at a byte offset and accepts a Buffer', async () => {
    const backing = new Uint8Array(image.length + 7);
    backing.set(image, 7);
    const want = await clahe(image, { width: 97, height: 61 });
    assert.deepEqual(await clahe(backing.subarray(7), { width: 97, height: 61 }), want);
    assert.deepEqual(new Uint8Array(await clahe(Buffer.from(image), { width: 97, height: 61 })), want);
  });
});

describe('clahe rejects bad arguments', () => {
  const rejects = (fn: () => Promise<unknown>, pattern: RegExp) =>
    assert.rejects(fn, (e: unknown) => {
      assert.ok(e instanceof IchnetError, `expected an IchnetError, got ${String(e)}`);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, pattern);
      return true;
    });
  const nine = new Uint8Array(9);

  it('a length that is not width x height', async () => {
    await rejects(() => clahe(new Uint8Array(10), { width: 3, height: 3 }), /^clahe: image: holds 10 bytes but 3x3 needs 9$/);
  });

  it('a zero or fractional size', async () => {
    await rejects(() => clahe(nine, { width: 0, height: 3 }), /^clahe: width: expected an integer in 1\.\.1048576, got 0$/);
    await rejects(() => clahe(nine, { width: 3, height: 2.5 }), /^clahe: height: expected an integer in 1\.\.1048576, got 2\.5$/);
  });

  it('an image that is not a Uint8Array', async () => {
    const pattern = /^clahe: image: expected a Uint8Array of width x height gray pixels$/;
    await rejects(() => clahe(new Float32Array(9) as unknown as Uint8Array, { width: 3, height: 3 }), pattern);
    await rejects(() => clahe([1, 2, 3] as unknown as Uint8Array, { width: 3, height: 1 }), pattern);
    await rejects(() => clahe(new Uint8ClampedArray(9) as unknown as Uint8Array, { width: 3, height: 3 }), pattern);
  });

  it('a bad grid or clip limit', async () => {
    await rejects(() => clahe(nine, { width: 3, height: 3, tiles: 0 }), /^clahe: tilesX: expected an integer in 1\.\.1024, got 0$/);
    await rejects(() => clahe(nine, { width: 3, height: 3, tiles: [2, 2000] }), /^clahe: tilesY: expected an integer in 1\.\.1024, got 2000$/);
    await rejects(() => clahe(nine, { width: 3, height: 3, tiles: [2] as unknown as [number, number] }), /^clahe: tiles: expected a number or \[tilesX, tilesY\]$/);
    await rejects(() => clahe(nine, { width: 3, height: 3, clipLimit: Number.NaN }), /^clahe: clipLimit: expected a finite number$/);
    await rejects(() => clahe(nine, { width: '3' as unknown as number, height: 3 }), /^clahe: width: expected a finite number$/);
  });
});
