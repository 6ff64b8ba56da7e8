/**
 * The native decode threads (src/data/decode/native-slices.ts, native/io/dicom_slice.cc): on the
 * common case — uncompressed little-endian single-frame grey DICOM with integral rescale — their
 * Hounsfield units equal pydicom's (`apply_modality_lut`, with the unused bits ignored and the
 * public RSNA intercept fix applied in Python), whatever the header holds before Pixel Data
 * (private tags, sequences and items of defined and undefined length, implicit and explicit VR);
 * everything else (compressed, deflated, big-endian, multi-frame, colour, fractional rescale,
 * truncated) is declined and reaches the worker threads, which give `readSlice`'s values or its
 * error; and a loader epoch through the native threads yields the batches of `workers: 0`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { openDataset } from '../src/data/datasets/index.js';
import { NativeSlices } from '../src/data/decode/native-slices.js';
import { DecodePool } from '../src/data/decode/pool.js';
import type { DecodeTarget, SliceJob } from '../src/data/decode/protocol.js';
import { SliceLoader } from '../src/data/loader.js';
import { readSlice } from '../src/data/slices.js';
import { writeSyntheticDataset } from '../src/data/synth/index.js';
import { pydicomCorpus } from './helpers/corpus.js';
import { runPython } from './helpers/oracle.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('ichnet-native-decode-');
after(() => rmSync(dir, { recursive: true, force: true }));
const corpus = pydicomCorpus();

/**
 * Writes the cases with pydicom (32 × 32 pixels, the synthetic slices' size, unless said), then the oracle: each file's first
 * frame through pydicom's pixel_array, its unused high bits ignored (numpy's (a << k) >> k on the
 * stored dtype, as pydicom ≥ 3 does), the RSNA fix where asked (x + 1000, x ≥ 4096 wrapped,
 * intercept −1000), apply_modality_lut, rounded and clipped to int16, written as <name>.hu; and
 * the sizes as JSON on stdout.
 */
const WRITE_AND_ORACLE = `
import json, shutil, sys, numpy as np, pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian as IMPLICIT, ExplicitVRLittleEndian as EXPLICIT, DeflatedExplicitVRLittleEndian as DEFLATED, RLELossless, generate_uid
from pydicom.pixel_data_handlers.util import apply_modality_lut
out, corpus, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
rng = np.random.default_rng(11)
R, C = 32, 32

def item(**kw):
    d = Dataset()
    for k, v in kw.items(): setattr(d, k, v)
    return d

def write(name, syntax=EXPLICIT, bits=16, signed=True, stored=None, slope='1', intercept='-1024', values=None,
          frames=1, photometric='MONOCHROME2', samples=1, extra=None, rows=R, cols=C):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.2'
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = EXPLICIT if syntax == RLELossless else syntax
    ds = FileDataset(None, {}, file_meta=meta, preamble=b'\\0' * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, syntax == IMPLICIT
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, 'CT'
    if extra: extra(ds)
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, cols, samples, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, stored or bits, (stored or bits) - 1
    ds.PixelRepresentation = 1 if signed else 0
    if slope is not None: ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if frames > 1: ds.NumberOfFrames = frames
    dtype = {(8, False): np.uint8, (8, True): np.int8, (16, False): np.uint16, (16, True): np.int16}[(bits, signed)]
    if values is None:
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, size=frames * rows * cols * samples, endpoint=True)
    ds.PixelData = np.asarray(values).astype(dtype).tobytes()
    if samples == 3: ds.PlanarConfiguration = 0
    if syntax == RLELossless: ds.compress(RLELossless)
    ds.save_as(f'{out}/{name}.dcm', write_like_original=False)

def sequences(ds, undefined, private_sq=True):
    """Private tags, a nested sequence, and sequences/items of defined or undefined length, before Pixel Data."""
    ds.add_new(0x00090010, 'LO', 'ICHNET TEST')
    ds.add_new(0x00091001, 'OB', bytes(range(6)))
    ds.add_new(0x00091002, 'LO', 'odd\\\\multi\\\\value')
    inner = Sequence([item(CodeValue='A', CodeMeaning='inner')])
    ref = Sequence([item(ReferencedSOPClassUID='1.2.3', ReferencedSOPInstanceUID='1.2.3.4', ConceptNameCodeSequence=inner), item(ReferencedSOPInstanceUID='5.6')])
    ds.ReferencedImageSequence = ref
    ds.SourceImageSequence = Sequence([])
    if private_sq: ds.add_new(0x00091003, 'SQ', Sequence([item(PatientID='p')]))
    for tag in ('ReferencedImageSequence', 'SourceImageSequence'):
        ds[tag].is_undefined_length = undefined
        for it in ds[tag].value: it.is_undefined_length_sequence_item = undefined
    inner_elem = ds.ReferencedImageSequence[0]['ConceptNameCodeSequence']
    inner_elem.is_undefined_length = undefined
    ds.add_new(0x00280030, 'DS', ['0.5', '0.5'])

def padding(ds):
    ds.add_new(0x00091010, 'LO', 'x')

n = R * C
ct = lambda lo, hi: rng.integers(lo, hi, size=n, endpoint=True)
write('explicit-s16', values=ct(-2000, 3000))
write('implicit-u12', syntax=IMPLICIT, signed=False, stored=12, values=ct(0, 4095))
write('slope2', slope='2', intercept='-2048', signed=False, values=ct(0, 4095))
write('s8', bits=8, signed=True, slope='1', intercept='0')
write('u8-implicit', syntax=IMPLICIT, bits=8, signed=False, slope='3', intercept='-100')
write('no-rescale', slope=None, values=ct(-1000, 1000))
write('blank-rescale', slope='', intercept='', values=ct(-1000, 1000))
write('monochrome1', photometric='MONOCHROME1', values=ct(-1000, 1000))
write('dirty12u', signed=False, stored=12)
write('dirty12s', signed=True, stored=12)
write('rsna-fix', signed=False, stored=12, intercept='0', values=ct(0, 4095))
write('rsna-fix-slope', signed=False, stored=12, slope='2', intercept='-99.5', values=ct(0, 4095))
write('rsna-no-fix', signed=False, stored=12, intercept='-1024', values=ct(0, 4095))
write('sequences-explicit-defined', extra=lambda d: sequences(d, False), values=ct(-1000, 1000))
write('sequences-explicit-undefined', extra=lambda d: sequences(d, True), values=ct(-1000, 1000))
write('sequences-implicit-defined', syntax=IMPLICIT, extra=lambda d: sequences(d, False), values=ct(-1000, 1000))
write('sequences-implicit-undefined', syntax=IMPLICIT, extra=lambda d: sequences(d, True), values=ct(-1000, 1000))
write('fractional', slope='1.25', intercept='-1000.3', values=ct(-1000, 1000))
write('multiframe', frames=2, values=np.concatenate([ct(-1000, 1000), ct(-1000, 1000)]))
write('deflated', syntax=DEFLATED, values=ct(-1000, 1000))
write('rle', syntax=RLELossless, values=ct(-1000, 1000))
write('rgb', bits=8, signed=False, samples=3, photometric='RGB', slope=None)
write('plus-minus-intercept', values=ct(-1000, 1000))
with open(f'{out}/plus-minus-intercept.dcm', 'r+b') as f:
    data = f.read()
    assert data.count(b'-1024 ') == 1
    f.seek(0)
    f.write(data.replace(b'-1024 ', b'+-1024'))  # not a number to JavaScript (nor to pydicom)
shutil.copyfile(f'{out}/explicit-s16.dcm', f'{out}/truncated.dcm')
with open(f'{out}/truncated.dcm', 'r+b') as f:
    f.truncate(f.seek(0, 2) - 50)
for name in ('MR_small_bigendian.dcm', 'MR_small_jp2klossless.dcm', 'CT_small.dcm', 'MR_small_implicit.dcm', 'MR_small_padded.dcm'):
    shutil.copyfile(f'{corpus}/{name}', f'{out}/corpus-{name}')

sizes = {}
for case in cases:
    name, fix = case['name'], case['rsnaFix']
    path = f'{out}/{name}.dcm'
    try:
        ds = pydicom.dcmread(path)
        arr = ds.pixel_array
        float(ds.get('RescaleIntercept') or 0)
    except Exception:
        continue  # the unreadable cases: no oracle
    if ds.SamplesPerPixel != 1: continue
    for kw in ('RescaleSlope', 'RescaleIntercept'):
        if kw in ds and ds[kw].value in (None, ''): del ds[kw]  # empty: as if absent
    if int(ds.get('NumberOfFrames', 1) or 1) > 1: arr = arr[0]
    k = ds.BitsAllocated - ds.BitsStored
    if k: arr = (arr << k) >> k
    if fix and ds.BitsStored == 12 and ds.PixelRepresentation == 0 and int(ds.RescaleIntercept) > -100:
        x = arr.astype(np.int64) + 1000
        x[x >= 4096] -= 4096
        hu = x * float(ds.RescaleSlope) - 1000
    else:
        hu = apply_modality_lut(arr, ds)
    np.rint(hu).clip(-32768, 32767).astype('<i2').tofile(f'{out}/{name}.hu')
    sizes[name] = [int(ds.Rows), int(ds.Columns)]
print(json.dumps(sizes))
`;

interface Case {
  name: string;
  /** The native threads write it (else they decline it). */
  native: boolean;
  rsnaFix?: boolean;
}

const CASES: Case[] = [
  { name: 'explicit-s16', native: true },
  { name: 'implicit-u12', native: true },
  { name: 'slope2', native: true },
  { name: 's8', native: true },
  { name: 'u8-implicit', native: true },
  { name: 'no-rescale', native: true },
  { name: 'blank-rescale', native: true },
  { name: 'monochrome1', native: true },
  { name: 'dirty12u', native: true },
  { name: 'dirty12s', native: true },
  { name: 'rsna-fix', native: true, rsnaFix: true },
  { name: 'rsna-fix-slope', native: false, rsnaFix: true }, // fractional intercept: declined
  { name: 'rsna-no-fix', native: true, rsnaFix: true },
  { name: 'sequences-explicit-defined', native: true },
  { name: 'sequences-explicit-undefined', native: true },
  { name: 'sequences-implicit-defined', native: true },
  { name: 'sequences-implicit-undefined', native: true },
  { name: 'corpus-CT_small.dcm', native: true },
  { name: 'corpus-MR_small_implicit.dcm', native: true },
  { name: 'corpus-MR_small_padded.dcm', native: true },
  { name: 'fractional', native: false },
  { name: 'multiframe', native: false },
  { name: 'deflated', native: false },
  { name: 'rle', native: false },
  { name: 'rgb', native: false },
  { name: 'plus-minus-intercept', native: false },
  { name: 'truncated', native: false },
  { name: 'corpus-MR_small_bigendian.dcm', native: false },
  { name: 'corpus-MR_small_jp2klossless.dcm', native: false },
];

const pathOf = (name: string) => join(dir, name.endsWith('.dcm') ? name : `${name}.dcm`);
const oracleOf = (name: string) => {
  const bytes = readFileSync(join(dir, `${name}.hu`));
  return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** A target of HU slices of `rows` × `columns`, and one job per case placed one after another. */
function layout(cases: Case[], rows: number, columns: number): { target: DecodeTarget; jobs: SliceJob[] } {
  const plane = rows * columns;
  const target: DecodeTarget = { buffer: new SharedArrayBuffer(2 * plane * cases.length), shape: { kind: 'hu', channels: 1, width: columns, height: rows } };
  return { target, jobs: cases.map((c, k) => ({ path: pathOf(c.name), rsnaFix: c.rsnaFix === true, offset: k * plane })) };
}

describe('native slice decoding', { skip: corpus ? false : 'pydicom with its test corpus is not importable' }, () => {
  let sizes: Record<string, [number, number]> = {};
  before(() => {
    sizes = JSON.parse(runPython(WRITE_AND_ORACLE, [dir, corpus ?? '', JSON.stringify(CASES.map((c) => ({ name: c.name.replace(/\.dcm$/, ''), rsnaFix: c.rsnaFix === true })))])) as typeof sizes;
  });
  const sizeOf = (c: Case) => sizes[c.name.replace(/\.dcm$/, '')];

  it("writes pydicom's HU for the common case and declines everything else", async () => {
    const native = new NativeSlices(2);
    try {
      for (const c of CASES) {
        const size = sizeOf(c) ?? [32, 32];
        const { target, jobs } = layout([c], ...size);
        const { placed, busyMs } = await native.place(jobs, target);
        assert.deepEqual(placed, [c.native], `${c.name}: ${c.native ? 'written' : 'declined'}`);
        assert.ok(busyMs >= 0);
        const got = new Int16Array(target.buffer);
        if (c.native) assert.deepEqual(got, oracleOf(c.name.replace(/\.dcm$/, '')), `${c.name}: pydicom's HU`);
        else assert.ok(got.every((v) => v === 0), `${c.name}: nothing written`);
      }
      // Of another size: parsed, not written; its shape is known.
      const { target, jobs } = layout([{ name: 'explicit-s16', native: true }], 24, 32);
      assert.deepEqual((await native.place(jobs, target)).placed, [false]);
      assert.ok(new Int16Array(target.buffer).every((v) => v === 0));
      assert.deepEqual(await native.shapeOf({ path: pathOf('explicit-s16'), rsnaFix: false }), { kind: 'hu', channels: 1, width: 32, height: 32 });
      assert.equal(await native.shapeOf({ path: pathOf('rle'), rsnaFix: false }), undefined);
      assert.equal(await native.shapeOf({ path: join(dir, 'missing.dcm'), rsnaFix: false }), undefined);
    } finally {
      native.close();
    }
  });

  it("sends the declined slices to the workers: readSlice's values or its error, in the jobs' order", async () => {
    const cases = CASES.filter((c) => (sizeOf(c) ?? [32, 32]).join() === '32,32');
    assert.ok(cases.some((c) => !c.native) && cases.some((c) => c.native));
    const { target, jobs } = layout(cases, 32, 32);
    const pool = new DecodePool(2);
    try {
      const outcomes = await pool.decodeSlices(jobs, target);
      assert.equal(pool.stats.nativeSlices, cases.filter((c) => c.native).length);
      for (const [k, c] of cases.entries()) {
        const outcome = outcomes[k];
        const expected = await readSlice(pathOf(c.name), { rsnaFix: c.rsnaFix === true }).catch((e: Error) => e);
        if (expected instanceof Error) {
          assert.ok(!c.native);
          assert.deepEqual(outcome, { ok: false, code: 'DATA_UNREADABLE', message: expected.message }, `${c.name}: readSlice's error`);
          continue;
        }
        const place = new Int16Array(target.buffer, 2 * (jobs[k]?.offset ?? 0), 32 * 32);
        if (expected.kind === 'hu' && expected.width === 32 && expected.height === 32) {
          assert.deepEqual(outcome, { ok: true, placed: true }, c.name);
          assert.deepEqual(place, expected.data, `${c.name}: readSlice's HU`);
          assert.deepEqual(place, oracleOf(c.name), `${c.name}: pydicom's HU`);
        } else {
          assert.equal(outcome?.ok && !outcome.placed && outcome.pixels.kind, expected.kind, c.name);
        }
      }
      assert.match(JSON.stringify(outcomes[cases.findIndex((c) => c.name === 'truncated')]), /truncated\.dcm: truncated/);
      assert.match(JSON.stringify(outcomes[cases.findIndex((c) => c.name === 'rgb')]), /rgb\.dcm: DICOM with 3 samples per pixel/);
    } finally {
      await pool.close();
    }
  });

  it('gives a loader epoch the batches of workers: 0, declined slices and skipped ones included', async () => {
    const info = await writeSyntheticDataset({ out: join(dir, 'set'), patients: 5, slices: [4, 6], size: 32, seed: 9, format: 'dicom' });
    const ds = await openDataset({ root: info.root });
    // Some slices replaced by files the native threads decline (other syntaxes, several frames)
    // or read with another header layout; one truncated file.
    const swaps = ['implicit-u12', 'rle', 'deflated', 'multiframe', 'sequences-implicit-undefined', 'sequences-explicit-defined', 'fractional', 'truncated'];
    const slots = ds.patients.flatMap((p) => p.slices.map((s) => s.path)).filter((_, k) => k % 3 === 1);
    assert.ok(slots.length >= swaps.length);
    swaps.forEach((name, k) => copyFileSync(pathOf(name), slots[k] as string));
    const collect = async (workers: number, onError: 'skip' | 'error') => {
      // Evaluation order: every slice once, so the truncated one is always met.
      const options = { labels: ds.labelNames.length, patientsPerBatch: 2, maxSlices: 4, mode: 'eval' as const, seed: 3, workers, onError };
      const loader = new SliceLoader(ds.patients, options);
      const out: string[] = [];
      for await (const loaded of loader.batches(1)) {
        out.push(JSON.stringify([loaded.items.map((i) => [i.patient.id, i.slices]), Array.from(loaded.batch.lengths), Buffer.from(loaded.batch.images.buffer, loaded.batch.images.byteOffset, loaded.batch.images.byteLength).toString('base64')]));
        loader.release(loaded);
      }
      return { out, skipped: loader.skipped, stats: loader.decodePool.stats };
    };
    const inline = await collect(0, 'skip');
    const threads = await collect(2, 'skip');
    assert.deepEqual(threads.out, inline.out);
    assert.deepEqual(threads.skipped, inline.skipped);
    assert.deepEqual(inline.skipped.map((x) => x.path), [slots[swaps.indexOf('truncated')]]);
    assert.ok(threads.stats.nativeSlices > 0 && threads.stats.nativeSlices < threads.stats.slices, 'some slices native, some on the workers');
    await assert.rejects(collect(2, 'error'), (e: Error) => e.message.includes(`${slots[swaps.indexOf('truncated')] as string}: truncated`));
  });

  it('lets the process exit, and a worker thread be terminated, while slices are decoding', () => {
    const paths = Array.from({ length: 400 }, () => pathOf('explicit-s16'));
    const module = new URL('../src/data/decode/native-slices.js', import.meta.url).href;
    const start = `
      const { NativeSlices } = await import(${JSON.stringify(module)});
      const paths = ${JSON.stringify(paths)};
      const native = new NativeSlices(2);
      const target = { buffer: new SharedArrayBuffer(2 * 1024 * paths.length), shape: { kind: 'hu', channels: 1, width: 32, height: 32 } };
      void native.place(paths.map((path, k) => ({ path, rsnaFix: false, offset: k * 1024 })), target);`;
    const exit = `${start}\nprocess.exit(7);`;
    // The worker's module is a file: an evaluated one would still be loading the addon when terminated.
    const child = join(dir, 'decoding-worker.mjs');
    writeFileSync(child, `${start}\n(await import('node:worker_threads')).parentPort.postMessage('started');`);
    const terminated = `
      const { Worker } = await import('node:worker_threads');
      const worker = new Worker(${JSON.stringify(child)}, { execArgv: [] });
      await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
      console.log('terminated');`;
    for (const [code, status, stdout] of [[exit, 7, ''], [terminated, 0, 'terminated\n']] as const) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
      assert.equal(child.signal, null, child.stderr);
      assert.equal(child.status, status, child.stderr);
      assert.equal(child.stdout, stdout);
    }
  });
});
