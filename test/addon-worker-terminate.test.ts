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
    // The addon this process loaded, required straight away by each worker: terminations land
    // inside its registration (0-39 ms after the start).
    const { path } = addonLoad();
    const script = `
      import { Worker } from 'node:worker_threads';
      const body = ${JSON.stringify(`require(${JSON.stringify(path)}); require('node:worker_threads').parentPort.postMessage('loaded');`)};
      let survived = 0;
      let loaded = 0;
      const errors = [];
      for (let i = 0; i < 100; i++) {
        // execArgv: [] so that the eval'd body is CommonJS (this script's --input-type is not inherited).
        const worker = new Worker(body, { eval: true, execArgv: [] });
        worker.on('message', () => loaded++);
        worker.on('error', (e) => errors.push(String(e)));
        await new Promise((r) => setTimeout(r, (i * 7) % 40));
        await worker.terminate();
        survived++;
      }
      console.log(JSON.stringify({ survived, loaded, errors }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.signal, null, `the process died of ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const { survived, loaded, errors } = JSON.parse(r.stdout) as { survived: number; loaded: number; errors: string[] };
    assert.deepEqual(errors, []);
    assert.equal(survived, 100);
    assert.ok(loaded > 0, 'some workers loaded the addon before they were terminated');
  });
});
