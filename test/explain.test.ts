/**
 * `ichnet explain`: overlays and raw maps for one patient. The maps' numerics are checked against
 * PyTorch in grad-cam.test.ts; here: the files (numpy reads maps.npy, sharp decodes the PNGs), that
 * the probabilities next to the maps are the ones `predict` gives, and that the overlays show the
 * map where it is hot and the slice where it is not.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import sharp from 'sharp';

import { openDataset } from '../src/index.js';
import { jet, overlayHeat, resizeBilinear } from '../src/explain/overlay.js';
import { runPython } from './helpers/oracle.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyRun } from './helpers/tiny-run.js';

const tmp = tempDir('ichnet-explain-');


interface ExplainIndex {
  patient: string;
  labels: string[];
  maps: { shape: number[] };
  slices: { id: string; box: number[]; probabilities: number[] }[];
  overlays: { png: string; index: number; label: string }[];
}

describe('ichnet explain', () => {
  let runDir = '';
  let dataRoot = '';
  before(async () => {
    ({ runDir, dataRoot } = await tinyRun(tmp));
  });

  it('writes maps.npy, an overlay per slice and label, and the probabilities predict gives', async () => {
    const ds = await openDataset({ root: dataRoot });
    const patient = ds.patients[1];
    assert.ok(patient);
    const out = join(tmp, 'explain');
    const r = runCli(['explain', '--checkpoint', runDir, '--data', dataRoot, '--patient', patient.id, '--out', out, '--overlays', 'all']);
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(readFileSync(join(out, 'explain.json'), 'utf8')) as ExplainIndex;
    const S = patient.slices.length;
    assert.deepEqual(index.maps.shape, [S, 5, 2, 2]); // 32×32 input → 2×2 maps
    // numpy reads the raw maps with that shape; Grad-CAM maps are ReLU'd, so never negative.
    const np = JSON.parse(runPython('import json,sys,numpy as n; a=n.load(sys.argv[1]); print(json.dumps([list(a.shape), str(a.dtype), float(a.min()), float(a.max())]))', [join(out, 'maps.npy')])) as [number[], string, number, number];
    assert.deepEqual(np[0], [S, 5, 2, 2]);
    assert.equal(np[1], 'float32');
    assert.ok(np[2] >= 0 && np[3] > 0, `maps range ${np[2]}..${np[3]}`);
    // Without prep.crop every map covers its whole slice.
    for (const slice of index.slices) assert.deepEqual(slice.box, [0, 0, 32, 32]);
    assert.equal(index.overlays.length, S * 5);
    for (const o of index.overlays) {
      const meta = await sharp(join(out, o.png)).metadata();
      assert.deepEqual([meta.width, meta.height, meta.channels], [32, 32, 3]);
    }
    assert.equal(readdirSync(out).filter((f) => f.endsWith('.png')).length, S * 5);

    const preds = join(tmp, 'preds.csv');
    assert.equal(runCli(['predict', '--checkpoint', runDir, '--data', dataRoot, '--out', preds]).code, 0);
    const rows = readFileSync(preds, 'utf8').trim().split('\n').slice(1).filter((l) => l.startsWith(`${patient.id},`));
    assert.equal(rows.length, S);
    // predict batches two patients, explain one: convolutions over other slice counts may round differently.
    rows.forEach((row, s) => {
      const want = row.split(',').slice(2, 7).map(Number);
      index.slices[s]?.probabilities.forEach((p, l) => assert.ok(Math.abs(p - (want[l] as number)) < 1e-5, `slice ${s} label ${l}: ${p} vs ${want[l]}`));
    });
  });

  it('refuses an unknown patient, naming some that exist', () => {
    const r = runCli(['explain', '--checkpoint', runDir, '--data', dataRoot, '--patient', 'nobody', '--out', join(tmp, 'x')]);
    assert.equal(r.code, 2); // USAGE
    assert.match(r.stderr, /--patient nobody: no such patient, series or study .* \(it has 8: /);
  });

  it('resamples maps on pixel centres and blends the jet colour where the map is hot', () => {
    // A 2×2 map to 4×4 with half-pixel centres (PyTorch's align_corners=False), checked against PyTorch.
    const map = [0, 1, 2, 3];
    const ref = JSON.parse(runPython('import json,torch,torch.nn.functional as F; print(json.dumps(F.interpolate(torch.tensor([[[[0.,1.],[2.,3.]]]]), size=(4,4), mode="bilinear", align_corners=False).flatten().tolist()))')) as number[];
    assert.deepEqual(Array.from(resizeBilinear(map, 2, 2, 4, 4)).map((v) => v.toFixed(5)), ref.map((v) => v.toFixed(5)));
    // With prep.crop the map covers a box of the slice, here 4 wide and 3 high reaching past the
    // left edge of a 5×6 slice: the map resized to the box, pasted there, zeros elsewhere.
    const boxed = JSON.parse(
      runPython('import json,torch,torch.nn.functional as F; m=F.interpolate(torch.tensor([[[[0.,1.],[2.,3.]]]]), size=(3,4), mode="bilinear", align_corners=False)[0,0]; out=torch.zeros(6,5); out[2:5,0:3]=m[:,1:]; print(json.dumps(out.flatten().tolist()))'),
    ) as number[];
    assert.deepEqual(Array.from(resizeBilinear(map, 2, 2, 6, 5, [-1, 2, 3, 5])).map((v) => v.toFixed(5)), boxed.map((v) => v.toFixed(5)));
    const rgb = overlayHeat(Uint8Array.from([100, 100]), Float32Array.from([0, 1]), 0.5);
    assert.deepEqual(Array.from(rgb.subarray(0, 3)), [100, 100, 100]);
    const [r, g, b] = jet(1);
    assert.deepEqual(Array.from(rgb.subarray(3, 6)), [Math.round(50 + r / 2), Math.round(50 + g / 2), Math.round(50 + b / 2)]);
  });
});
