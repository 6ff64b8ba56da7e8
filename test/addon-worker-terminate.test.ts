/**
 * A worker thread terminated while it loads or calls the addon (the decode pool closing while a
 * fresh worker starts, a user's `worker.terminate()`): the process goes on. An error the addon
 * raises then cannot reach JavaScript, and must not become a C++ exception that aborts the process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

import { addonLoad } from '../src/session/binding.js';

describe('worker threads terminated while they load the addon', () => {
  it('leave the process running, 100 times in a row', () => {
    // The addon this process loaded, required straight away by each worker. One worker first loads
    // it to the end (so the libraries are resident) and times a second full load; the terminations
    // then spread over 0 to 1.5 times that time, so that some land inside the registration and some
    // after it, however fast this machine starts a worker.
    const { path } = addonLoad();
    const script = `
      import { Worker } from 'node:worker_threads';
      const body = ${JSON.stringify(`require(${JSON.stringify(path)}); require('node:worker_threads').parentPort.postMessage('loaded');`)};
      let survived = 0;
      let loaded = 0;
      const errors = [];
      const loadOnce = async () => {
        const t0 = performance.now();
        const worker = new Worker(body, { eval: true, execArgv: [] });
        await new Promise((resolve, reject) => { worker.on('message', resolve); worker.on('error', reject); });
        await worker.terminate();
        return performance.now() - t0;
      };
      await loadOnce();
      const spread = Math.max(40, Math.ceil(1.5 * (await loadOnce())));
      for (let i = 0; i < 100; i++) {
        // execArgv: [] so that the eval'd body is CommonJS (this script's --input-type is not inherited).
        const worker = new Worker(body, { eval: true, execArgv: [] });
        worker.on('message', () => loaded++);
        worker.on('error', (e) => errors.push(String(e)));
        await new Promise((r) => setTimeout(r, (i * 7) % spread));
        await worker.terminate();
        survived++;
      }
      console.log(JSON.stringify({ survived, loaded, errors, spread }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.signal, null, `the process died of ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const { survived, loaded, errors, spread } = JSON.parse(r.stdout) as { survived: number; loaded: number; errors: string[]; spread: number };
    assert.deepEqual(errors, []);
    assert.equal(survived, 100);
    assert.ok(loaded > 0, `some workers loaded the addon before they were terminated (terminations over 0-${spread} ms)`);
    assert.ok(loaded < 100, `some workers were terminated before they had loaded the addon (terminations over 0-${spread} ms)`);
  });
});
