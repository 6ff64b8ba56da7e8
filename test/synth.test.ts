/**
 * Synthetic phantoms: labels match the drawn lesions, determinism, DICOM read back by pydicom,
 * windowed PNGs, and the course's CSV layout.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { parse } from 'csv-parse/sync';
import sharp from 'sharp';

import { COURSE_LABELS } from '../src/config/labels.js';
import {
  generatePatient,
  patientSeed,
  Tissue,
  windowToUint8,
  writeSyntheticDataset,
  type LesionType,
  type Phantom,
  type PhantomOptions,
} from '../src/data/synth/index.js';
import { python, runPython } from './helpers/oracle.js';
import { tempDir } from './helpers/temp-dir.js';

const L = COURSE_LABELS.length;
const tmpRoots: string[] = [];
function tmp(): string {
  const dir = tempDir('ichnet-synth-');
  tmpRoots.push(dir);
  return dir;
}
after(() => {
  for (const dir of tmpRoots) rmSync(dir, { recursive: true, force: true });
});

function label(p: Phantom, slice: number, type: LesionType): number {
  return p.labels[slice * L + COURSE_LABELS.indexOf(type)]!;
}

/** Indices where two slices differ. */
function diffPixels(a: Int16Array, b: Int16Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

const SOFT = new Set<number>([
  Tissue.WHITE_MATTER,
  Tissue.GREY_MATTER,
  Tissue.DEEP_GREY,
  Tissue.CSF_RIM,
  Tissue.SULCUS,
  Tissue.FISSURE,
  Tissue.CISTERN,
]);
const PARENCHYMA = new Set<number>([Tissue.WHITE_MATTER, Tissue.GREY_MATTER, Tissue.DEEP_GREY, Tissue.SULCUS]);
const CSF_OUTSIDE_VENTRICLES = new Set<number>([Tissue.CSF_RIM, Tissue.SULCUS, Tissue.FISSURE, Tissue.CISTERN]);

/** Whether some pixel within Chebyshev distance r of pixel i has a tissue class in `classes`. */
function near(tissue: Uint8Array, n: number, i: number, r: number, classes: Set<number>): boolean {
  const x = i % n;
  const y = Math.floor(i / n);
  for (let yy = Math.max(0, y - r); yy <= Math.min(n - 1, y + r); yy++) {
    for (let xx = Math.max(0, x - r); xx <= Math.min(n - 1, x + r); xx++) if (classes.has(tissue[yy * n + xx]!)) return true;
  }
  return false;
}

describe('phantom labels match the drawn lesions', () => {
  const base: Omit<PhantomOptions, 'seed'> = {
    prevalence: { ich: 1, ivh: 1, sah: 1, sdh: 1, edh: 1 },
    extraLesionProbability: 0.4,
    faintEndProbability: 0.6,
    slices: [14, 22],
  };
  const seeds = [11, 12, 13, 14, 15, 16];
  const faintDeltas: number[] = [];
  const clearDeltas: number[] = [];

  for (const seed of seeds) {
    test(`seed ${seed}: per-type difference masks equal the labels and sit in the right tissue`, () => {
      const full = generatePatient({ ...base, seed });
      const none = generatePatient({ ...base, seed, drawLesions: false, withTissue: true });
      const n = full.rows;
      const k = n / 128;
      const minArea = Math.max(3, Math.round(10 * k * k));
      assert.equal(none.labels.reduce((a, b) => a + b, 0), 0, 'no labels without lesions');
      assert.ok(none.tissue && none.tissue.length === none.slices.length);
      // Every type is present in at least one slice of this patient (prevalence 1).
      for (const type of COURSE_LABELS) {
        assert.ok(full.slices.some((_, s) => label(full, s, type) === 1), `${type} labelled somewhere`);
      }
      const perTypeDiff: Map<LesionType, Set<number>[]> = new Map();
      for (const type of COURSE_LABELS) {
        const only = generatePatient({ ...base, seed, drawLesions: [type] });
        const sets: Set<number>[] = [];
        for (let s = 0; s < full.slices.length; s++) {
          assert.equal(label(only, s, type), label(full, s, type), `${type} slice ${s}: label independent of the other types`);
          for (const other of COURSE_LABELS) if (other !== type) assert.equal(label(only, s, other), 0);
          const diff = diffPixels(only.slices[s]!, none.slices[s]!);
          sets.push(new Set(diff));
          const lab = label(full, s, type);
          if (lab === 0) {
            assert.equal(diff.length, 0, `${type} slice ${s}: label 0 but ${diff.length} pixels drawn`);
            continue;
          }
          assert.ok(diff.length >= minArea, `${type} slice ${s}: label 1 with ${diff.length} < ${minArea} pixels`);
          const tissue: Uint8Array = none.tissue![s]!;
          switch (type) {
            case 'edh':
            case 'sdh': {
              for (const i of diff) assert.ok(SOFT.has(tissue[i]!), `${type} slice ${s}: drawn on tissue ${tissue[i]}`);
              assert.ok(
                diff.some((i) => near(tissue, n, i, 1, new Set([Tissue.BONE]))),
                `${type} slice ${s}: does not touch the inner table`,
              );
              const reach = Math.ceil((type === 'edh' ? 10 : 5.5) * k) + 2;
              for (const i of diff) assert.ok(near(tissue, n, i, reach, new Set([Tissue.BONE])), `${type} slice ${s}: pixel ${i} too far from the skull`);
              break;
            }
            case 'ivh':
              for (const i of diff) assert.equal(tissue[i], Tissue.VENTRICLE, `ivh slice ${s}: outside a ventricle`);
              break;
            case 'ich':
              for (const i of diff) assert.ok(PARENCHYMA.has(tissue[i]!), `ich slice ${s}: drawn on tissue ${tissue[i]}`);
              break;
            case 'sah': {
              const set = sets[s]!;
              let interior = 0;
              for (const i of diff) {
                assert.ok(CSF_OUTSIDE_VENTRICLES.has(tissue[i]!), `sah slice ${s}: pixel ${i} on tissue ${tissue[i]}, not in the subarachnoid CSF`);
                if (set.has(i - 1) && set.has(i + 1) && set.has(i - n) && set.has(i + n)) interior++;
              }
              // Sulcal/convexity blood is thin lines; basal-cistern blood (the suprasellar star) is
              // allowed to be a little thicker.
              const basal = full.lesions.some((l) => l.type === 'sah' && l.variant === 'basal' && s >= l.firstSlice && s <= l.lastSlice);
              const limit = basal ? 0.55 : 0.35;
              assert.ok(interior / diff.length < limit, `sah slice ${s}: not thin (${interior}/${diff.length} interior pixels)`);
              break;
            }
          }
        }
        perTypeDiff.set(type, sets);
      }
      // The full render differs from the lesion-free one exactly on the disjoint union of the types' masks.
      for (let s = 0; s < full.slices.length; s++) {
        const diff = diffPixels(full.slices[s]!, none.slices[s]!);
        let total = 0;
        for (const type of COURSE_LABELS) total += perTypeDiff.get(type)![s]!.size;
        assert.equal(diff.length, total, `slice ${s}: masks overlap or differ from the full render`);
        for (const i of diff) assert.ok(COURSE_LABELS.some((t) => perTypeDiff.get(t)![s]!.has(i)));
      }
      // Faint end slices are fainter than the lesion's clear slices.
      for (const lesion of full.lesions) {
        lesion.faint.forEach((faint, j) => {
          const s = lesion.firstSlice + j;
          if (!lesion.area[j] || lesion.type === 'ich') return;
          const set = perTypeDiff.get(lesion.type)![s]!;
          let sum = 0;
          for (const i of set) sum += full.slices[s]![i]! - none.slices[s]![i]!;
          (faint ? faintDeltas : clearDeltas).push(sum / Math.max(1, set.size));
        });
      }
      // Summaries agree with the labels.
      for (const type of COURSE_LABELS) {
        for (let s = 0; s < full.slices.length; s++) {
          const drawn = full.lesions.some((l) => l.type === type && s >= l.firstSlice && s <= l.lastSlice && l.area[s - l.firstSlice]! > 0);
          assert.equal(drawn ? 1 : 0, label(full, s, type));
        }
      }
    });
  }

  test('faint slices are fainter than clear ones', () => {
    assert.ok(faintDeltas.length > 0 && clearDeltas.length > 0, 'both faint and clear slices were sampled');
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(faintDeltas) < mean(clearDeltas) - 10, `faint ${mean(faintDeltas)} vs clear ${mean(clearDeltas)}`);
  });
});

describe('phantom statistics and determinism', () => {
  test('default prevalence: 30–60 % of patients with a lesion, every type present', () => {
    let any = 0;
    const perType = new Map<LesionType, number>();
    const count = 300;
    for (let i = 0; i < count; i++) {
      const p = generatePatient({ seed: patientSeed(5, i), size: 48, slices: [8, 12], noiseSigma: [0, 0], artifacts: false });
      const types = new Set<LesionType>();
      for (let s = 0; s < p.slices.length; s++) for (const t of COURSE_LABELS) if (label(p, s, t)) types.add(t);
      if (types.size) any++;
      for (const t of types) perType.set(t, (perType.get(t) ?? 0) + 1);
    }
    assert.ok(any / count >= 0.3 && any / count <= 0.6, `${any}/${count} patients with a lesion`);
    for (const t of COURSE_LABELS) assert.ok((perType.get(t) ?? 0) >= 5, `${t}: ${perType.get(t) ?? 0} patients`);
  });

  test('HU ranges look like a head CT', () => {
    const p = generatePatient({ seed: 3, slices: 20, withTissue: true, noiseSigma: [0, 0], artifacts: false, drawLesions: false });
    const mean = (cls: number): number => {
      let sum = 0;
      let n = 0;
      p.slices.forEach((slice, s) => slice.forEach((v, i) => (p.tissue![s]![i] === cls ? ((sum += v), n++) : 0)));
      return sum / n;
    };
    assert.ok(mean(Tissue.AIR) < -900);
    assert.ok(mean(Tissue.BONE) > 500);
    assert.ok(mean(Tissue.WHITE_MATTER) > 20 && mean(Tissue.WHITE_MATTER) < 32);
    assert.ok(mean(Tissue.GREY_MATTER) > mean(Tissue.WHITE_MATTER));
    assert.ok(mean(Tissue.VENTRICLE) < 15);
  });

  test('same seed gives identical output; different seeds differ', () => {
    const hash = (p: Phantom): string => {
      const h = createHash('sha256');
      for (const s of p.slices) h.update(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
      h.update(p.labels);
      return h.digest('hex');
    };
    const a = generatePatient({ seed: 77 });
    const b = generatePatient({ seed: 77 });
    const c = generatePatient({ seed: 78 });
    assert.equal(hash(a), hash(b));
    assert.notEqual(hash(a), hash(c));
    assert.deepEqual(a.lesions, b.lesions);
  });
});

describe('writeSyntheticDataset', () => {
  const seed = 9;
  const patients = 3;
  const phantom = { size: 96, slices: [6, 9] as [number, number], prevalence: { ich: 0.6, ivh: 0.6, sah: 0.6, sdh: 0.6, edh: 0.6 } };
  let root = '';
  let info: Awaited<ReturnType<typeof writeSyntheticDataset>>;
  const expected: Phantom[] = [];

  test('writes the folders layout', async () => {
    root = tmp();
    info = await writeSyntheticDataset({ out: root, patients, seed, format: 'both', ...phantom });
    const csv = parse(readFileSync(info.csv, 'utf8'), { columns: false }) as string[][];
    assert.deepEqual(csv[0], ['dirname', 'ID', ...COURSE_LABELS]);
    const rows = csv.slice(1);
    assert.equal(rows.length, info.slices);
    const dirs = readdirSync(join(root, 'train')).sort();
    assert.equal(dirs.length, patients);
    let r = 0;
    for (let i = 0; i < patients; i++) {
      const id = dirs[i]!;
      const p = generatePatient({ ...phantom, seed: patientSeed(seed, i), id });
      expected.push(p);
      for (let s = 0; s < p.slices.length; s++, r++) {
        const row = rows[r]!;
        assert.equal(row[0], id, 'rows grouped by patient, in patient order');
        assert.equal(row[1], `${id}_${String(s).padStart(3, '0')}`, 'rows in slice order');
        assert.deepEqual(row.slice(2).map(Number), Array.from(p.labels.subarray(s * L, (s + 1) * L)), `labels of ${row[1]}`);
        assert.ok(statSync(join(root, 'train', id, `${row[1]}.dcm`)).isFile());
        assert.ok(statSync(join(root, 'train', id, `${row[1]}.png`)).isFile());
      }
    }
    assert.equal(r, rows.length);
    const manifest = JSON.parse(readFileSync(join(root, 'synthetic.json'), 'utf8')) as { seed: number; slices: number };
    assert.equal(manifest.seed, seed);
    assert.equal(manifest.slices, info.slices);
  });

  test('PNGs decode to the windowed HU (centre 40, width 120), 8-bit gray', async () => {
    for (let i = 0; i < patients; i++) {
      const p = expected[i]!;
      for (const s of [0, Math.floor(p.slices.length / 2), p.slices.length - 1]) {
        const file = join(root, 'train', p.id, `${p.id}_${String(s).padStart(3, '0')}.png`);
        const meta = await sharp(file).metadata();
        assert.equal(meta.format, 'png');
        assert.equal(meta.channels, 1);
        assert.equal(meta.depth, 'uchar');
        // sharp decodes gray to 3 identical channels by default; take the first.
        const { data, info: raw } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
        assert.equal(raw.channels, 1);
        assert.equal(raw.width, p.cols);
        assert.equal(raw.height, p.rows);
        assert.deepEqual(new Uint8Array(data), windowToUint8(p.slices[s]!, 40, 120));
      }
    }
  });

  test('same seed writes byte-identical files; another seed differs', async () => {
    const again = tmp();
    await writeSyntheticDataset({ out: again, patients, seed, format: 'both', ...phantom });
    const files = (dir: string): string[] => {
      const out: string[] = [];
      const walk = (d: string, rel: string): void => {
        for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
          if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
          else out.push(`${rel}${e.name}`);
        }
      };
      walk(dir, '');
      return out;
    };
    const list = files(root);
    assert.deepEqual(files(again), list);
    for (const f of list) assert.ok(readFileSync(join(root, f)).equals(readFileSync(join(again, f))), `${f} differs`);
    const other = tmp();
    await writeSyntheticDataset({ out: other, patients: 1, seed: seed + 1, format: 'dicom', ...phantom });
    const a = readdirSync(join(root, 'train'))[0]!;
    const b = readdirSync(join(other, 'train'))[0]!;
    assert.notEqual(a, b, 'patient ids depend on the seed');
    const fa = readFileSync(join(root, 'train', a, `${a}_000.dcm`));
    const fb = readFileSync(join(other, 'train', b, `${b}_000.dcm`));
    assert.ok(!fa.equals(fb));
  });

  const hasPydicom = ((): boolean => {
    try {
      execFileSync(python, ['-c', 'import pydicom, numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  test('DICOM reads back in pydicom with the same HU and a valid header', { skip: hasPydicom ? false : `no pydicom in ${python}` }, async () => {
    const zero = tmp();
    const zeroInfo = await writeSyntheticDataset({ out: zero, patients: 1, seed, format: 'dicom', rescaleIntercept: 0, ...phantom });
    const cases: Array<{ dir: string; intercept: number; phantoms: Phantom[] }> = [
      { dir: join(root, 'train'), intercept: -1024, phantoms: expected },
      { dir: join(zeroInfo.root, 'train'), intercept: 0, phantoms: [expected[0]!] },
    ];
    const code = `
import json, re, sys, os
import numpy as np
import pydicom
spec = json.load(open(sys.argv[1]))
uid = re.compile(r'^(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))*$')
out = []
for case in spec:
    for pt in case['patients']:
        hu = np.fromfile(pt['hu'], dtype='<i2').reshape(pt['slices'], pt['rows'], pt['cols'])
        files = sorted(f for f in os.listdir(os.path.join(case['dir'], pt['id'])) if f.endswith('.dcm'))
        ds = [pydicom.dcmread(os.path.join(case['dir'], pt['id'], f)) for f in files]
        assert len(ds) == pt['slices'], (len(ds), pt['slices'])
        sops = set()
        zs = []
        for s, d in enumerate(ds):
            assert d.file_meta.TransferSyntaxUID == '1.2.840.10008.1.2.1'
            assert d.file_meta.MediaStorageSOPClassUID == '1.2.840.10008.5.1.4.1.1.2'
            assert d.SOPClassUID == '1.2.840.10008.5.1.4.1.1.2'
            assert d.file_meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID
            assert d.Modality == 'CT' and d.PhotometricInterpretation == 'MONOCHROME2'
            assert d.PatientID == pt['id']
            assert int(d.InstanceNumber) == s + 1
            assert (d.BitsAllocated, d.BitsStored, d.HighBit, d.PixelRepresentation) == (16, 16, 15, 1)
            assert float(d.RescaleSlope) == 1 and float(d.RescaleIntercept) == case['intercept']
            assert [float(x) for x in d.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
            assert abs(float(d.SliceThickness) - pt['thickness']) < 1e-6
            assert abs(float(d.PixelSpacing[0]) - pt['spacing']) < 1e-6
            for u in (d.StudyInstanceUID, d.SeriesInstanceUID, d.SOPInstanceUID, d.FrameOfReferenceUID):
                assert len(u) <= 64 and u.startswith('2.25.') and uid.match(u), u
            assert d.StudyInstanceUID == ds[0].StudyInstanceUID and d.SeriesInstanceUID == ds[0].SeriesInstanceUID
            sops.add(d.SOPInstanceUID)
            zs.append(float(d.ImagePositionPatient[2]))
            assert abs(zs[-1] - s * pt['thickness']) < 1e-3, (zs[-1], s)
            px = d.pixel_array.astype(np.int32) * int(float(d.RescaleSlope)) + int(float(d.RescaleIntercept))
            assert px.shape == (pt['rows'], pt['cols'])
            assert np.array_equal(px, hu[s]), ('pixels differ', pt['id'], s, int(np.abs(px - hu[s]).max()))
        assert len(sops) == len(ds)
        assert all(b > a for a, b in zip(zs, zs[1:]))
        out.append(pt['id'])
print(json.dumps(out))
`;
    const spec = cases.map((c) => ({
      dir: c.dir,
      intercept: c.intercept,
      patients: c.phantoms.map((p, i) => {
        const file = join(tmp(), `hu-${i}.bin`);
        const all = new Int16Array(p.slices.length * p.rows * p.cols);
        p.slices.forEach((s, j) => all.set(s, j * p.rows * p.cols));
        writeFileSync(file, new Uint8Array(all.buffer));
        return { id: p.id, hu: file, slices: p.slices.length, rows: p.rows, cols: p.cols, thickness: p.sliceThicknessMm, spacing: p.pixelSpacingMm };
      }),
    }));
    const specFile = join(tmp(), 'spec.json');
    writeFileSync(specFile, JSON.stringify(spec));
    let stdout: string;
    try {
      stdout = runPython(code, [specFile]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`pydicom check failed: ${err.stderr || err.message}`);
    }
    assert.deepEqual(JSON.parse(stdout), [...expected.map((p) => p.id), expected[0]!.id]);
  });
});
