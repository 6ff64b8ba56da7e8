/**
 * Fault injection, data layer: broken label CSVs, duplicated slices, unreadable DICOM files in
 * every way a hostile tester found, and a run of corrupt JPEG 2000 files. Each must end in an
 * error naming the file (and row/column), or — with `on_error: skip` — a skip that is listed;
 * never a silent drop. The DICOM files are real ones from pydicom's test corpus, damaged here.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';

import { openDataset } from '../src/data/datasets/index.js';
import { readDicom, readDicomHeader } from '../src/data/dicom/read.js';
import { writeCourseFixture } from './helpers/fixtures.js';
import { pydicomCorpus } from './helpers/corpus.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('ichnet-faults-data-');
let made = 0;
const fresh = (name: string) => {
  const dir = join(tmp, `${name}-${made++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const corpus = pydicomCorpus();
const noCorpus = corpus ? false : 'pydicom and its test corpus are not installed';

/** Rewrites train.csv of a course fixture, cell (row, column) set to `value` (row 0 = first data row). */
function setCell(root: string, row: number, column: string, value: string): void {
  const lines = readFileSync(join(root, 'train.csv'), 'utf8').trim().split('\n');
  const header = (lines[0] as string).split(',');
  const cells = (lines[row + 1] as string).split(',');
  cells[header.indexOf(column)] = value;
  lines[row + 1] = cells.join(',');
  writeFileSync(join(root, 'train.csv'), `${lines.join('\n')}\n`);
}

describe('label CSV faults', () => {
  for (const value of ['2', '-1', '0.5', 'yes', '']) {
    it(`a label cell of '${value}' is an error naming row and column, and the column stays a label`, async () => {
      const fx = await writeCourseFixture(fresh('cell'), [3, 2], 8);
      setCell(fx.root, 3, 'sah', value);
      await assert.rejects(openDataset({ root: fx.root }), (e: Error) => {
        assert.match(e.message, /train\.csv: row 5, column sah: expected 0 or 1, got '.*'/);
        assert.ok(e.message.includes(`'${value}'`), e.message);
        return true;
      });
      const skipped = await openDataset({ root: fx.root, on_error: 'skip' });
      assert.deepEqual(skipped.labelNames, ['ich', 'ivh', 'sah', 'sdh', 'edh']);
      assert.equal(skipped.skipped.length, 1);
      assert.match(skipped.skipped[0]?.reason ?? '', /row 5, column sah/);
      assert.equal(skipped.patients.reduce((n, p) => n + p.slices.length, 0), 4);
    });
  }

  it('label columns are found by header and position, whatever their values', async () => {
    const root = fresh('position');
    mkdirSync(join(root, 'train', 'p1'), { recursive: true });
    const png = await sharp(Buffer.alloc(64, 100), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
    for (const id of ['a', 'b']) writeFileSync(join(root, 'train', 'p1', `${id}.png`), png);
    // `note` precedes the id columns and is not a label; `bleed` follows them and is one.
    writeFileSync(join(root, 'train.csv'), 'note,dirname,ID,bleed\nx,p1,a,1\ny,p1,b,0\n');
    const ds = await openDataset({ root });
    assert.deepEqual(ds.labelNames, ['bleed']);
    assert.deepEqual(Array.from(ds.patients[0]?.labels ?? []), [1, 0]);
  });

  it('a slice listed twice is an error naming both rows; with skip it is used once and listed', async () => {
    const fx = await writeCourseFixture(fresh('dup'), [3, 2], 8);
    const lines = readFileSync(join(fx.root, 'train.csv'), 'utf8').trim().split('\n');
    // The second slice again, with conflicting labels.
    const copy = (lines[2] as string).split(',');
    copy.splice(2, 5, ...copy.slice(2).map((v) => (v === '1' ? '0' : '1')));
    lines.push(copy.join(','));
    writeFileSync(join(fx.root, 'train.csv'), `${lines.join('\n')}\n`);
    await assert.rejects(openDataset({ root: fx.root }), /train\.csv: row 7: slice '.*' of patient ID_p0 is listed again \(first at row 3\)/);
    const ds = await openDataset({ root: fx.root, on_error: 'skip' });
    assert.equal(ds.skipped.length, 1);
    assert.equal(ds.patients[0]?.slices.length, 3);
    assert.equal(new Set(ds.patients[0]?.slices.map((s) => s.id)).size, 3);
  });
});

describe('unreadable DICOM slices', { skip: noCorpus }, () => {
  /** A folders dataset of one patient: three real CT slices and the given broken ones. */
  function dicomDataset(broken: Record<string, Buffer>): string {
    const root = fresh('dicom');
    const dir = join(root, 'train', 'p1');
    mkdirSync(dir, { recursive: true });
    const rows = ['dirname,ID,ich,ivh,sah,sdh,edh'];
    for (const id of ['s1', 's2', 's3']) {
      copyFileSync(join(corpus as string, 'CT_small.dcm'), join(dir, `${id}.dcm`));
      rows.push(`p1,${id},0,1,0,0,0`);
    }
    for (const [id, bytes] of Object.entries(broken)) {
      writeFileSync(join(dir, `${id}.dcm`), bytes);
      rows.push(`p1,${id},1,0,0,0,0`);
    }
    writeFileSync(join(root, 'train.csv'), `${rows.join('\n')}\n`);
    return root;
  }

  const ct = () => readFileSync(join(corpus as string, 'CT_small.dcm'));
  const cases: Array<[string, () => Promise<Buffer>, RegExp]> = [
    ['a zero-length file', async () => Buffer.alloc(0), /bad\.dcm: not a DICOM Part-10 file \(0 bytes/],
    ['a PNG named .dcm', async () => sharp(Buffer.alloc(64, 9), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer(), /bad\.dcm: not a DICOM Part-10 file/],
    ['a DICOM cut inside its header', async () => ct().subarray(0, 400), /bad\.dcm: .*truncated/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`${what}: an error naming it, or with skip listed while its patient keeps the rest`, async () => {
      const root = dicomDataset({ bad: await bytes() });
      await assert.rejects(openDataset({ root }), message);
      const ds = await openDataset({ root, on_error: 'skip' });
      assert.equal(ds.skipped.length, 1);
      assert.ok(ds.skipped[0]?.path.endsWith('bad.dcm'));
      assert.deepEqual(ds.patients[0]?.slices.map((s) => s.id).sort(), ['s1', 's2', 's3']);
      // The labels stayed with their slices (the dropped one was labelled ich).
      assert.deepEqual(Array.from(ds.patients[0]?.labels ?? []), [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0]);
    });
  }

  it('a patient whose every slice is unreadable is listed as left out', async () => {
    const root = dicomDataset({});
    for (const id of ['s1', 's2', 's3']) writeFileSync(join(root, 'train', 'p1', `${id}.dcm`), Buffer.alloc(0));
    const ds = await openDataset({ root, on_error: 'skip' });
    assert.equal(ds.patients.length, 0);
    assert.equal(ds.skipped.length, 4);
    assert.match(ds.skipped[3]?.reason ?? '', /patient left out: none of its 3 listed slice\(s\) is usable/);
  });

  for (const bits of [0, 7]) {
    it(`Bits Allocated ${bits}: readDicom and readDicomHeader name the file and the field`, async () => {
      const bytes = ct();
      // (0028,0100) US, explicit VR little endian: tag, 'US', length 2, value.
      const at = bytes.indexOf(Buffer.from([0x28, 0x00, 0x00, 0x01, 0x55, 0x53, 0x02, 0x00]));
      assert.ok(at > 0);
      bytes.writeUInt16LE(bits, at + 8);
      const path = join(fresh('bits'), `bits${bits}.dcm`);
      writeFileSync(path, bytes);
      const message = new RegExp(`bits${bits}\\.dcm: unsupported Bits Allocated \\(0028,0100\\) value ${bits}`);
      await assert.rejects(readDicom(path), message);
      await assert.rejects(readDicomHeader(path), message);
    });
  }
});

describe('compressed DICOM after many decoder failures', { skip: noCorpus }, () => {
  it('40 corrupt JPEG 2000 files each fail with their name; RLE, JPEG and JPEG 2000 decode unchanged after', async () => {
    const files = ['MR_small_jp2klossless.dcm', 'MR_small_RLE.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'JPEG2000.dcm'].map((f) => join(corpus as string, f));
    const before = await Promise.all(files.map((f) => readDicom(f)));
    const j2k = readFileSync(files[0] as string);
    const soc = j2k.indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    assert.ok(soc > 0);
    const dir = fresh('j2k');
    let failures = 0;
    for (let i = 0; i < 40; i++) {
      // Damage the main header (COD/QCD segments after SIZ): each variant breaks OpenJPEG differently.
      const bad = Buffer.from(j2k);
      for (let k = 0; k < 6; k++) bad[soc + 50 + ((i * 7 + k * 13) % 80)] = (i * 31 + k * 17) & 0xff;
      const path = join(dir, `bad${i}.dcm`);
      writeFileSync(path, bad);
      try {
        await readDicom(path);
      } catch (e) {
        failures++;
        assert.match((e as Error).message, new RegExp(`bad${i}\\.dcm: cannot decode JPEG 2000`));
      }
    }
    // Before each failure got a fresh decoder, the 8th or so failure poisoned every later decode.
    assert.ok(failures >= 30, `${failures} of 40 corrupt files failed`);
    const after = await Promise.all(files.map((f) => readDicom(f)));
    after.forEach((image, i) => assert.deepEqual(image.pixels, (before[i] as typeof image).pixels, files[i]));
  });
});
