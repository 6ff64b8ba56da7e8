/**
 * Typed errors: every failure is an IchnetError with a stable code, the same failure has the same
 * code from every entry point, the command exits with the code's exit code, and README.md's
 * Errors table lists exactly ERROR_CODES.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  ERROR_CODES,
  IchnetError,
  Session,
  Trainer,
  loadExperimentConfig,
  openDataset,
  preprocess,
  readDicom,
  resolveSessionConfig,
  type IchnetErrorCode,
} from '../src/index.js';
import { packageRoot } from '../src/package-root.js';
import { randomBatch } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('ichnet-errors-');
const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env, ...env }, timeout: 120_000 });

/** Asserts that `fn` rejects with an IchnetError of `code` whose message matches `pattern`. */
async function rejectsWith(fn: () => Promise<unknown>, code: IchnetErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof IchnetError, `expected an IchnetError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.equal(e.exitCode, ERROR_CODES[code].exitCode);
    return true;
  });
}

describe('IchnetError', () => {
  it('README lists exactly the codes and exit codes of ERROR_CODES', () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Errors\n'), readme.indexOf('\n## Library\n'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (.+) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
    assert.deepEqual(rows, Object.entries(ERROR_CODES).map(([code, v]) => [code, v.exitCode, v.meaning]));
  });

  it('raises CONFIG_INVALID for the same bad key from every entry point', async () => {
    const lr = /config\.optim\.lr: Too small/;
    await rejectsWith(() => loadExperimentConfig({ set: ['optim.lr=-1'] }), 'CONFIG_INVALID', lr);
    await rejectsWith(() => Trainer.create({ optim: { lr: -1 } }), 'CONFIG_INVALID', lr);
    await rejectsWith(() => Session.create({ optim: { lr: -1 } }), 'CONFIG_INVALID', lr);
    await rejectsWith(async () => resolveSessionConfig({ optim: { lr: -1 } }), 'CONFIG_INVALID', lr);
    await rejectsWith(() => preprocess(randomBatch(1, [1]), { prep: { clahe: { clip_limit: -1 } } }), 'CONFIG_INVALID', /prep\.clahe\.clip_limit/);
    await rejectsWith(() => openDataset({ root: tmp, on_error: 'ignore' as never }), 'CONFIG_INVALID', /data\.on_error/);
  });

  it('raises DATA_UNREADABLE for a missing dataset and a file that is not DICOM', async () => {
    await rejectsWith(() => openDataset({ root: join(tmp, 'absent') }), 'DATA_UNREADABLE', /absent: dataset root does not exist/);
    const text = join(tmp, 'not.dcm');
    writeFileSync(text, 'hello');
    await rejectsWith(() => readDicom(text), 'DATA_UNREADABLE', /not\.dcm: not a DICOM Part-10 file/);
  });

  it('makes the command exit with the code of its failure', () => {
    const cases: Array<[string[], Record<string, string>, IchnetErrorCode, RegExp]> = [
      [['train', '--set', 'optim.lr=-1'], {}, 'CONFIG_INVALID', /config\.optim\.lr/],
      [['train', '--data', join(tmp, 'absent')], {}, 'DATA_UNREADABLE', /dataset root does not exist/],
      [['train', '--resume', tmp], {}, 'RUN_DIR_INVALID', /not a run directory/],
      [['doctor'], { ICHNET_ADDON: 'bogus' }, 'NATIVE_LOAD', /ICHNET_ADDON=bogus is not one of/],
    ];
    const labels = join(tmp, 'labels.csv');
    const predictions = join(tmp, 'predictions.csv');
    writeFileSync(labels, 'patient,slice,ich\np1,s1,2\n');
    writeFileSync(predictions, 'patient,slice,ich\np1,s1,0.5\n');
    cases.push([['evaluate', '--predictions', predictions, '--labels', labels], {}, 'DATA_INVALID', /expected 0 or 1, got '2'/]);
    mkdirSync(join(tmp, 'runs'), { recursive: true });
    for (const [args, env, code, pattern] of cases) {
      const r = run(args, env);
      assert.equal(r.status, ERROR_CODES[code].exitCode, `ichnet ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });
});
