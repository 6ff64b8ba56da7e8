/**
 * Faults in a data-parallel job at the session level (c10d, Gloo, ranks as child processes with
 * torchrun's environment): never a hang, never an orphan, and an error that names the rank and
 * the cause. Short timeouts keep the test fast.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import { Session } from '../src/index.js';
import { rankScript, writeJobBatches, writeSpec } from './helpers/ddp-job.js';
import type { RankSpec } from './helpers/ddp-rank.js';
import { freePort, runRanks } from './helpers/ranks.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyConfig } from './helpers/tiny.js';

const config = tinyConfig({ threads: 1, model: { backbone: 'vgg16', label_rnn: 'none', slice_rnn: 'gru' } });
let dir = '';
let base: RankSpec;

before(async () => {
  dir = tempDir('ichnet-ddp-faults-');
  writeJobBatches(dir, [[2, 3], [1, 2], [3, 3], [2, 2]], 2);
  const session = await Session.create(config);
  await session.saveWeights(join(dir, 'weights.safetensors'));
  await session.close();
  base = { config, weights: join(dir, 'weights.safetensors'), dir, out: join(dir, 'out-{rank}.safetensors'), timeoutMs: 5000 };
});

/** Runs two ranks, rank r with spec `specs[r]` and environment `env(r)`. */
async function job(specs: [RankSpec, RankSpec], options: { port?: number; env?: (rank: number) => NodeJS.ProcessEnv; world?: number } = {}) {
  const paths = specs.map((s, r) => writeSpec(join(dir, `spec-${r}-${Math.random().toString(36).slice(2)}.json`), s));
  return runRanks(process.execPath, (r) => [rankScript, paths[r] as string], options.world ?? 2, {
    port: options.port ?? (await freePort()),
    env: options.env ?? (() => ({})),
    timeoutMs: 60_000,
  });
}

describe('data-parallel faults', () => {
  it('a rank killed (SIGKILL) mid-training: the other fails at once, naming the rank', async () => {
    const [r0, r1] = await job([base, { ...base, killAtStep: { rank: 1, step: 2, signal: 'SIGKILL' } }]);
    assert.equal(r1?.signal, 'SIGKILL');
    assert.equal(r0?.code, 1, r0?.stderr);
    assert.match(r0?.stderr ?? '', /rank 0 of 2: .*training step 2.* failed: .*rank 1 \(pid \d+\) has exited/s);
    assert.ok((r0?.ms ?? Infinity) < 5000 + 10_000, `rank 0 took ${r0?.ms} ms`);
  });

  it('a rank that hangs (SIGSTOP): the other fails after the timeout instead of waiting forever', async () => {
    const port = await freePort();
    const exits = runRanks(process.execPath, (r) => [rankScript, writeSpec(join(dir, `hang-${r}.json`), { ...base, timeoutMs: 3000, killAtStep: { rank: 1, step: 1, signal: 'SIGSTOP' } })], 2, {
      port,
      timeoutMs: 60_000,
      // rank 1 stays stopped: once rank 0 has given up on it, the harness kills it
      onStart: ([c0, c1]) => c0?.on('exit', () => c1?.kill('SIGKILL')),
    });
    const [r0, r1] = await exits;
    assert.equal(r0?.code, 1, r0?.stderr);
    assert.match(r0?.stderr ?? '', /rank 0 of 2: .*training step 1.* failed: timed out: no answer from the other ranks within 3 s/s);
    assert.equal(r1?.signal, 'SIGKILL', 'the stopped rank was killed by the harness');
  });

  it('a busy port: rank 0 cannot host the rendezvous and says so', async () => {
    const server: Server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, () => resolve((server.address() as { port: number }).port)));
    try {
      const [r0, r1] = await job([base, base], { port });
      assert.equal(r0?.code, 1);
      assert.match(r0?.stderr ?? '', new RegExp(`rank 0 of 2: cannot host the rendezvous at 127\\.0\\.0\\.1:${port}: .*(in use|Address already in use).*choose another MASTER_PORT`, 's'));
      assert.notEqual(r1?.code, 0, 'rank 1 does not hang on a port that is not a rendezvous');
    } finally {
      server.close();
    }
  });

  it('an unreachable master: a clear error within the timeout', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const [r1] = await runRanks(process.execPath, () => [rankScript, writeSpec(join(dir, 'alone.json'), { ...base, timeoutMs: 3000 })], 1, {
      port,
      env: () => ({ RANK: '1', WORLD_SIZE: '2' }),
    });
    assert.equal(r1?.code, 1);
    assert.match(r1?.stderr ?? '', new RegExp(`rank 1 of 2: cannot reach rank 0's rendezvous at 127\\.0\\.0\\.1:${port} within 3 s`));
    assert.ok(Date.now() - t0 < 3000 + 15_000);
  });

  it('mismatched world sizes: both ranks name the mismatch', async () => {
    const [r0, r1] = await job([base, base], { env: (r) => (r === 1 ? { WORLD_SIZE: '3' } : {}) });
    assert.equal(r0?.code, 1);
    assert.equal(r1?.code, 1);
    assert.match(r1?.stderr ?? '', /rank 1 of 3: world size mismatch: WORLD_SIZE is 3 here but 2 on rank 0/);
    assert.match(r0?.stderr ?? '', /rank 0 of 2: world size mismatch: WORLD_SIZE is 2 here but 3 on rank 1/);
  });

  it('mismatched configs: the first differing key is named', async () => {
    const [r0, r1] = await job([
      { ...base, fingerprint: 'model.width=0.0625\noptim.lr=0.001' },
      { ...base, fingerprint: 'model.width=0.0625\noptim.lr=0.01' },
    ]);
    assert.equal(r0?.code, 1);
    assert.equal(r1?.code, 1);
    assert.match(r1?.stderr ?? '', /the experiment config differs between ranks: optim\.lr = 0\.01 here, 0\.001 on rank 0/);
  });

  it('two processes claiming the same rank are told so', async () => {
    const [a, b] = await job([base, base], { env: () => ({ RANK: '0' }) });
    const messages = `${a?.stderr}\n${b?.stderr}`;
    assert.match(messages, /another process already joined .* as rank 0|cannot host the rendezvous/);
    assert.notEqual(a?.code, 0);
    assert.notEqual(b?.code, 0);
  });
});
