/**
 * Prediction on what a hospital has: an unlabelled tree of DICOM files in no particular layout, and
 * the output formats people submit or file (RSNA submission, per-study JSON summary).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import { RSNA_LABELS, openDataset, readDicomHeader, writeSyntheticDataset } from '../src/index.js';
import type { PredictionSummary } from '../src/train/summary.js';
import { writeMessyTree } from './helpers/dicom-tree.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyRun } from './helpers/tiny-run.js';

const tmp = tempDir('ichnet-predict-dicom-');
const tree = join(tmp, 'export');


/** A predictions CSV as slice id → probabilities (the label columns). */
function readPredictions(path: string, sliceId: (patient: string, slice: string) => string = (_, s) => s): Map<string, number[]> {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const L = ((head ?? '').split(',').length - 2) / 2;
  return new Map(rows.map((r) => {
    const cells = r.split(',');
    return [sliceId(cells[0] as string, cells[1] as string), cells.slice(2, 2 + L).map(Number)];
  }));
}

describe('a folder tree of DICOM files as a dataset', () => {
  it('groups series by UID, orders them along the slice normal, and lists what it leaves out', async () => {
    const root = join(tmp, 'layout');
    const info = await writeSyntheticDataset({ out: root, patients: 3, slices: [3, 5], size: 32, seed: 5 });
    const messy = join(tmp, 'layout-export');
    const extras = writeMessyTree(info.imagesDir, messy, 7);
    const ds = await openDataset({ root: messy });
    assert.equal(ds.format, 'dicom');
    const folders = await openDataset({ root });
    assert.equal(ds.patients.length, folders.patients.length);
    // The folders layout lists each series in the writer's slice order: the tree, from shuffled file
    // names, must come out in the same order.
    const sops = new Set<string>();
    for (const p of folders.patients) {
      const order: string[] = [];
      for (const s of p.slices) order.push((await readDicomHeader(s.path)).sopInstanceUid as string);
      sops.add(order.join());
    }
    for (const p of ds.patients) {
      assert.ok(sops.has(p.slices.map((s) => s.id).join()), `series ${p.id} is not in slice order`);
      assert.ok(p.series?.studyInstanceUid && p.series.seriesInstanceUid === p.id);
      assert.equal(p.labels, undefined);
    }
    const skipped = new Map(ds.skipped.map((s) => [s.path, s.reason]));
    assert.match(skipped.get(extras.localiser) ?? '', /localiser/);
    for (const f of extras.sagittal) assert.match(skipped.get(f) ?? '', /not axial/);
    assert.match(skipped.get(extras.single) ?? '', /single image/);
    assert.match(skipped.get(extras.stray) ?? '', /not a DICOM file/);
    assert.equal(ds.skipped.length, 6);
  });
});

describe('predict on a folder tree of DICOM files', () => {
  let runDir = '';
  let dataRoot = '';
  const sopOf = new Map<string, string>(); // folders-layout slice id -> SOPInstanceUID

  before(async () => {
    ({ runDir, dataRoot } = await tinyRun(tmp));
    writeMessyTree(join(dataRoot, 'train'), tree);
    const folders = await openDataset({ root: dataRoot });
    for (const p of folders.patients) for (const s of p.slices) sopOf.set(s.id, (await readDicomHeader(s.path)).sopInstanceUid as string);
  });

  it('predicts the same probabilities as on the same files in the dataset layout, and says so on the console', () => {
    const fromFolders = join(tmp, 'folders.csv');
    assert.equal(runCli(['predict', '--checkpoint', runDir, '--data', dataRoot, '--out', fromFolders]).code, 0);
    const fromTree = join(tmp, 'tree.csv');
    const r = runCli(['predict', '--checkpoint', runDir, '--data', tree, '--out', fromTree]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /6 input\(s\) skipped/);
    assert.match(r.stdout, /studies\/s/);
    const a = readPredictions(fromFolders, (_, s) => sopOf.get(s) as string);
    const b = readPredictions(fromTree);
    assert.equal(b.size, a.size);
    // The two layouts list the series in other orders, so a study may share its batch with another
    // partner, and convolutions over another number of slices may round differently in the last bits.
    for (const [sop, probs] of a) b.get(sop)?.forEach((p, l) => assert.ok(Math.abs(p - (probs[l] as number)) < 1e-5, `${sop}: ${p} vs ${probs[l]}`));
    for (const sop of a.keys()) assert.ok(b.has(sop), sop);
  });

  it('writes the RSNA submission: six subtypes per slice, any = the maximum for a course model', () => {
    const perSlice = join(tmp, 'tree.csv');
    const sub = join(tmp, 'rsna.csv');
    const r = runCli(['predict', '--checkpoint', runDir, '--data', tree, '--out', sub, '--format', 'rsna']);
    assert.equal(r.code, 0, r.stderr);
    const probs = readPredictions(perSlice);
    const rows = readFileSync(sub, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'ID,Label');
    assert.equal(rows.length - 1, probs.size * 6);
    const got = new Map(rows.slice(1).map((row) => {
      const [id, v] = row.split(',');
      return [id as string, Number(v)];
    }));
    // course labels ich, ivh, sah, sdh, edh -> RSNA subtypes
    const subtypeOf = { intraparenchymal: 0, intraventricular: 1, subarachnoid: 2, subdural: 3, epidural: 4 } as const;
    for (const [sop, p] of probs) {
      for (const subtype of RSNA_LABELS) {
        const want = subtype === 'any' ? Math.max(...p) : (p[subtypeOf[subtype]] as number);
        assert.equal(got.get(`ID_${sop}_${subtype}`), want, `${sop} ${subtype}`);
      }
    }
  });

  it('writes a per-study JSON summary: patient-level probabilities, thresholds and the driving slices', () => {
    const summary = JSON.parse(readFileSync(join(tmp, 'tree.summary.json'), 'utf8')) as PredictionSummary;
    const state = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'best', 'state.json'), 'utf8')) as { labels: string[]; thresholds: number[] };
    assert.deepEqual(summary.labels, state.labels);
    assert.deepEqual(Object.values(summary.thresholds), state.thresholds);
    const probs = readPredictions(join(tmp, 'tree.csv'));
    const byStudy = new Map<string, number[][]>();
    readPredictions(join(tmp, 'tree.csv'), (patient, slice) => `${patient}/${slice}`).forEach((p, key) => {
      const id = key.split('/')[0] as string;
      byStudy.set(id, [...(byStudy.get(id) ?? []), p]);
    });
    assert.equal(summary.skipped.length, 6);
    assert.equal(summary.studies.length, byStudy.size);
    for (const study of summary.studies) {
      assert.ok(study.series?.studyInstanceUid);
      const rows = byStudy.get(study.id) ?? [];
      assert.equal(study.slices, rows.length);
      state.labels.forEach((label, l) => {
        const s = study.labels[label];
        assert.ok(s);
        assert.equal(s.probability, Math.max(...rows.map((p) => p[l] as number)));
        assert.equal(s.threshold, state.thresholds[l]);
        assert.equal(s.positive, s.probability >= (state.thresholds[l] as number));
        assert.equal(s.positiveSlices, rows.filter((p) => (p[l] as number) >= s.threshold).length);
        assert.equal(study.positive.includes(label), s.positive);
        for (const d of s.drivingSlices) {
          assert.ok(d.probability >= s.threshold);
          assert.equal(probs.get(d.id)?.[l], d.probability);
        }
        if (s.positive) assert.equal(s.drivingSlices[0]?.probability, s.probability);
        else assert.equal(s.drivingSlices.length, 0);
      });
    }
  });
});
