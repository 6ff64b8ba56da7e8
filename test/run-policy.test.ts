/**
 * The checkpoint and early-stopping policy (src/train/policy.ts) on hand-worked histories, and the
 * run directory's state.json check (src/train/run-dir.ts). No training: the Trainer test covers
 * the policy in a real run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { Trainer } from '../src/index.js';
import { currentStageEpochs, newBest, shouldStop, staleEpochs } from '../src/train/policy.js';
import { findCheckpoint } from '../src/train/run-dir.js';
import type { HistoryEntry } from '../src/train/state.js';
import { tempDir } from './helpers/temp-dir.js';

/** Epoch entries of stage `stage` with the given validation F2 (micro) and loss per epoch. */
function epochs(stage: string, f2: number[], loss: number[]): HistoryEntry[] {
  return f2.map((v, epoch) => ({ kind: 'epoch', stage, epoch, step: epoch, lr: 1, valF2Micro: v, valLoss: loss[epoch] as number }));
}

describe('checkpoint and early-stopping policy', () => {
  // F2 rises at epochs 0, 1, 4; loss falls at epochs 0, 1, 2 only.
  const h = epochs('main', [0.5, 0.6, 0.6, 0.55, 0.7], [1.0, 0.9, 0.8, 0.85, 0.82]);

  it('counts epochs since the last improvement, per metric and direction', () => {
    assert.equal(staleEpochs(h.slice(0, 4), 'val_f2_micro'), 2); // best 0.6 at epoch 1; 0.6 (not better), 0.55
    assert.equal(staleEpochs(h, 'val_f2_micro'), 0); // 0.7 at epoch 4
    assert.equal(staleEpochs(h, 'val_loss'), 2); // best 0.8 at epoch 2; 0.85, 0.82 are higher
    assert.equal(staleEpochs([], 'val_loss'), 0);
  });

  it('stops on its own metric after `patience` stale epochs; patience 0 never stops', () => {
    assert.equal(shouldStop(h, { metric: 'val_loss', patience: 2 }), true);
    assert.equal(shouldStop(h, { metric: 'val_f2_micro', patience: 2 }), false);
    assert.equal(shouldStop(h.slice(0, 4), { metric: 'val_f2_micro', patience: 2 }), true);
    assert.equal(shouldStop(h, { metric: 'val_loss', patience: 0 }), false);
  });

  it('keeps the best checkpoint by `monitor`; NaN (null after JSON) never improves', () => {
    assert.deepEqual(newBest(h[4]!, 'val_f2_micro', { metric: 'val_f2_micro', value: 0.6, stage: 0, epoch: 1 }, 0), { metric: 'val_f2_micro', value: 0.7, stage: 0, epoch: 4 });
    assert.equal(newBest(h[2]!, 'val_f2_micro', { metric: 'val_f2_micro', value: 0.6, stage: 0, epoch: 1 }, 0), null);
    assert.deepEqual(newBest(h[0]!, 'val_loss', null, 1), { metric: 'val_loss', value: 1.0, stage: 1, epoch: 0 });
    const nan = JSON.parse(JSON.stringify({ ...h[0]!, valAucMacro: Number.NaN })) as HistoryEntry;
    assert.equal(newBest(nan, 'val_auc_macro', null, 0), null);
  });

  it('watches only the stage running now', () => {
    const two = [...epochs('cnn', [0.9, 0.1], [0.1, 0.2]), { kind: 'step', stage: 'full', epoch: 0, step: 9, lr: 1 } as HistoryEntry, ...epochs('full', [0.2, 0.3], [0.5, 0.4])];
    assert.deepEqual(currentStageEpochs(two, 'full').map((e) => e.valF2Micro), [0.2, 0.3]);
  });
});

describe('run directory', () => {
  const tmp = tempDir('ichnet-run-dir-');

  function runWithState(name: string, state: unknown): string {
    const dir = join(tmp, name);
    mkdirSync(join(dir, 'checkpoints', 'last'), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', 'last', 'state.json'), typeof state === 'string' ? state : JSON.stringify(state));
    return dir;
  }

  it('refuses a state.json of another format version, naming the file', async () => {
    const dir = runWithState('v2', { version: 2 });
    const file = join(dir, 'checkpoints', 'last', 'state.json');
    await assert.rejects(Trainer.resume(dir), (e: Error) => e.message.startsWith(`${file}: state format version 2, but this ichnet reads version 1`));
  });

  it('names the file and the bad fields of a damaged state.json', async () => {
    await assert.rejects(Trainer.resume(runWithState('garbled', '{"version": 1,')), /checkpoints\/last\/state\.json: cannot read the checkpoint's state/);
    await assert.rejects(Trainer.resume(runWithState('fields', { version: 1, config: {}, labels: ['a'], thresholds: [], stage: -1 })), (e: Error) =>
      /state\.json: not a valid checkpoint state:/.test(e.message) && /thresholds: expected one number per label/.test(e.message) && /stage: expected an integer ≥ 0/.test(e.message));
  });

  it('finds the checkpoint of a run directory, and says when there is none', async () => {
    const dir = runWithState('find', { version: 1 });
    assert.equal(findCheckpoint(dir), join(dir, 'checkpoints', 'last'));
    assert.equal(findCheckpoint(join(dir, 'checkpoints', 'last')), join(dir, 'checkpoints', 'last'));
    assert.throws(() => findCheckpoint(tmp), /not a checkpoint or run directory/);
    await assert.rejects(Trainer.resume(join(tmp, 'nothing')), /not a run directory/);
  });
});
