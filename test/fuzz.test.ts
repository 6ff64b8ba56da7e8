/**
 * Seeded, time-bounded fuzzing of the readers that take untrusted files: the DICOM reader (every
 * codec) and the native weight readers (.safetensors and torch.save .pth). Mutations of real files
 * — pydicom's corpus, weights written by this addon and by PyTorch — must each resolve with a
 * consistent result or reject with an error naming the file: no crash, no hang. Each target runs
 * a few seconds in its own process (test/helpers/fuzz-child.ts); ICHNET_FUZZ_SECONDS and
 * ICHNET_FUZZ_SEED widen or vary a run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import { Session } from '../src/index.js';
import { packageRoot } from '../src/package-root.js';
import { pydicomCorpus } from './helpers/corpus.js';
import { runPython } from './helpers/oracle.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyConfig } from './helpers/tiny.js';

const seconds = Number(process.env.ICHNET_FUZZ_SECONDS ?? 5);
const seed = Number(process.env.ICHNET_FUZZ_SEED ?? 20261130);
const child = join(packageRoot, 'dist', 'test', 'helpers', 'fuzz-child.js');
const tmp = tempDir('ichnet-fuzz-');
const corpus = pydicomCorpus();

interface Summary {
  cases: number;
  resolved: number;
  rejected: number;
  bad: string[];
}

/** Runs one target in a child process; fails on a crash, a hang or a broken contract. */
function fuzz(target: 'dicom' | 'weights', seeds: string[]): Summary {
  const work = join(tmp, target);
  mkdirSync(work, { recursive: true });
  const r = spawnSync(process.execPath, [child, target, String(seed), String(seconds), work, ...seeds], {
    encoding: 'utf8',
    timeout: (seconds + 60) * 1000, // one case hanging is a failure
  });
  const current = existsSync(join(work, 'current')) ? readFileSync(join(work, 'current'), 'utf8') : '(none)';
  assert.equal(r.signal, null, `the fuzzer died by ${r.signal} (seed ${seed}); last case: ${current}\n${r.stderr}`);
  assert.equal(r.status, 0, `the fuzzer failed (seed ${seed}); last case: ${current}\n${r.stderr}`);
  const summary = JSON.parse(r.stdout) as Summary;
  assert.deepEqual(summary.bad, [], `seed ${seed}`);
  // Enough cases ran to mean something (a failed compressed decode re-instantiates the codecs'
  // WebAssembly, ~0.1 s on a loaded 2-core machine), and the mutations were not all fatal or inert.
  assert.ok(summary.cases >= 20, `only ${summary.cases} cases in ${seconds} s`);
  assert.ok(summary.rejected > 0 && summary.resolved > 0, JSON.stringify(summary));
  return summary;
}

describe('fuzzing', () => {
  it('readDicom on mutated real DICOM files (native, RLE, JPEG, JPEG-LS, JPEG 2000, deflate, big endian)', { skip: corpus ? false : 'pydicom and its test corpus are not installed' }, () => {
    const files = ['CT_small.dcm', 'MR_small_RLE.dcm', 'MR_small_jp2klossless.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'JPGExtended.dcm', 'image_dfl.dcm', 'MR_small_bigendian.dcm'];
    const summary = fuzz('dicom', files.map((f) => join(corpus as string, f)));
    console.log(`# readDicom: ${JSON.stringify({ ...summary, bad: summary.bad.length })}`);
  });

  describe('weight readers', () => {
    const safetensors = join(tmp, 'tiny.safetensors');
    const pth = join(tmp, 'tiny.pth');
    before(async () => {
      const session = await Session.create(tinyConfig());
      await session.saveWeights(safetensors);
      await session.close();
      // PyTorch's own writer: the first layers of a torchvision-style VGG16-BN at the tiny width,
      // nested in a checkpoint dict as training scripts save them.
      runPython(
        `import sys, torch
torch.manual_seed(0)
sd = {'features.0.weight': torch.randn(4, 3, 3, 3), 'features.0.bias': torch.randn(4),
      'features.1.running_var': torch.rand(4) + 0.5, 'features.1.num_batches_tracked': torch.tensor(3),
      'classifier.6.weight': torch.randn(2, 8)}
torch.save({'state_dict': sd, 'epoch': 3}, sys.argv[1])`,
        [pth],
      );
    });

    it('loadWeights on mutated .safetensors and .pth files', () => {
      const summary = fuzz('weights', [safetensors, pth]);
      console.log(`# loadWeights: ${JSON.stringify({ ...summary, bad: summary.bad.length })}`);
    });
  });
});
