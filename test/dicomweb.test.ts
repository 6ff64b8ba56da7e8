/**
 * DICOMweb input against a real Orthanc with its DICOMweb plugin, started on loopback and loaded
 * with synthetic studies through its REST API: predictions from the server equal those from the
 * same files on disk; 401 and 404 name the study; 5xx answers and timeouts are retried (a
 * fault-injecting proxy on loopback sits between the client and Orthanc for those).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { DicomwebClient } from '../src/dicomweb/client.js';
import { readDicomHeader } from '../src/index.js';
import { writeMessyTree } from './helpers/dicom-tree.js';
import { freePort, startOrthanc, type Orthanc } from './helpers/orthanc.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyRun } from './helpers/tiny-run.js';

const tmp = tempDir('ichnet-dicomweb-');
const tree = join(tmp, 'export');


function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

/** Slice id → the CSV row's probabilities (as text: identical means byte-identical). */
function rows(path: string): Map<string, string> {
  const [, ...body] = readFileSync(path, 'utf8').trim().split('\n');
  return new Map(body.map((r) => [r.split(',')[1] as string, r.split(',').slice(2).join(',')]));
}

/**
 * A proxy that answers the first `fail` requests itself (503, or after `delayMs` of silence when
 * `hang`), then forwards to `target`. Counts what it served.
 */
async function faultyProxy(target: string, fail: number, mode: '503' | 'hang', delayMs = 0): Promise<{ url: string; served: { faults: number; forwarded: number }; close(): Promise<void> }> {
  const served = { faults: 0, forwarded: 0 };
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    if (served.faults < fail) {
      served.faults += 1;
      if (mode === '503') {
        res.writeHead(503, 'Service Unavailable').end();
      } else {
        const timer = setTimeout(() => res.writeHead(503).end(), delayMs);
        res.on('close', () => clearTimeout(timer));
      }
      return;
    }
    served.forwarded += 1;
    const up = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${port}${to.pathname}`, served, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe('DICOMweb input (real Orthanc)', () => {
  let orthanc: Orthanc;
  let runDir = '';
  const studies = new Set<string>();

  before(async () => {
    const run = await tinyRun(tmp);
    runDir = run.runDir;
    writeMessyTree(join(run.dataRoot, 'train'), tree);
    orthanc = await startOrthanc();
    for (const f of files(tree)) {
      const bytes = readFileSync(f);
      if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') continue; // the stray text file
      const stored = await orthanc.upload(bytes);
      assert.match(stored.Status, /Success|AlreadyStored/);
      studies.add((await readDicomHeader(f)).studyInstanceUid as string);
    }
  });
  after(async () => orthanc?.stop());

  it('predicts studies fetched by UID exactly as from the same files on disk', async () => {
    const auth = ['--header', `Authorization: ${orthanc.authorization}`];
    const client = new DicomwebClient({ url: orthanc.dicomweb, headers: { Authorization: orthanc.authorization } });
    const uids = await client.searchStudies({ ModalitiesInStudy: 'CT' });
    assert.deepEqual(new Set(uids), studies); // every synthetic patient's study and the extras' one
    const fromDisk = join(tmp, 'disk.csv');
    assert.equal(runCli(['predict', '--checkpoint', runDir, '--data', tree, '--out', fromDisk]).code, 0);
    const fromServer = join(tmp, 'server.csv');
    const r = runCli(['predict', '--checkpoint', runDir, '--dicomweb', orthanc.dicomweb, ...uids.flatMap((u) => ['--study', u]), ...auth, '--out', fromServer]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /instances/);
    assert.deepEqual(rows(fromServer), rows(fromDisk));
    // What the server holds but cannot be classified is listed, as from disk: localiser, 3 sagittal, single image.
    assert.match(r.stdout, /5 input\(s\) skipped/);

    // Without --study: a QIDO-RS search for CT studies finds the same.
    const searched = join(tmp, 'searched.csv');
    const s = runCli(['predict', '--checkpoint', runDir, '--dicomweb', orthanc.dicomweb, ...auth, '--out', searched]);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(rows(searched), rows(fromDisk));
    const none = runCli(['predict', '--checkpoint', runDir, '--dicomweb', orthanc.dicomweb, ...auth, '--qido', 'StudyDate=19000101', '--out', join(tmp, 'none.csv')]);
    assert.equal(none.code, 16); // DICOMWEB
    assert.match(none.stderr, /no CT study matches the search \(ModalitiesInStudy=CT StudyDate=19000101\)/);
  });

  it('names the study on 401 and 404', () => {
    const study = [...studies][0] as string;
    const unauthorised = runCli(['predict', '--checkpoint', runDir, '--dicomweb', orthanc.dicomweb, '--study', study, '--out', join(tmp, 'x.csv')]);
    assert.equal(unauthorised.code, 16);
    assert.match(unauthorised.stderr, new RegExp(`study ${study.replace(/\./g, '\\.')}: .* answered 401 .*--header 'Authorization: …'`));
    const wrong = runCli(['predict', '--checkpoint', runDir, '--dicomweb', orthanc.dicomweb, '--study', '1.2.3.404', '--header', 'Authorization: Basic aWNobmV0Ondyb25n', '--out', join(tmp, 'x.csv')]);
    assert.match(wrong.stderr, /study 1\.2\.3\.404: .* answered 401/);
    const missing = runCli(['predict', '--checkpoint', runDir, '--dicomweb', orthanc.dicomweb, '--study', '1.2.3.404', '--header', `Authorization: ${orthanc.authorization}`, '--out', join(tmp, 'x.csv')]);
    assert.equal(missing.code, 16);
    assert.match(missing.stderr, /study 1\.2\.3\.404: not found on/);
  });

  it('explains a study fetched from the server exactly as the same files on disk, and names a study it lacks', () => {
    const study = [...studies].find((uid) => uid !== '2.25.1000') as string; // a synthetic patient's, not the extras'
    const auth = ['--header', `Authorization: ${orthanc.authorization}`];
    const fromDisk = join(tmp, 'explain-disk');
    const disk = runCli(['explain', '--checkpoint', runDir, '--data', tree, '--patient', study, '--out', fromDisk]);
    assert.equal(disk.code, 0, disk.stderr);
    // Without --study, the study --patient names is the one fetched.
    const fromServer = join(tmp, 'explain-server');
    const server = runCli(['explain', '--checkpoint', runDir, '--dicomweb', orthanc.dicomweb, ...auth, '--patient', study, '--out', fromServer]);
    assert.equal(server.code, 0, server.stderr);
    assert.match(server.stdout, /1 studies, 1 CT series/);
    assert.deepEqual(readdirSync(fromServer).sort(), readdirSync(fromDisk).sort());
    assert.ok(readFileSync(join(fromServer, 'maps.npy')).equals(readFileSync(join(fromDisk, 'maps.npy'))), 'the same maps, bit for bit');
    const index = (dir: string) => {
      const { checkpoint: _c, ...rest } = JSON.parse(readFileSync(join(dir, 'explain.json'), 'utf8')) as Record<string, unknown>;
      return rest;
    };
    assert.deepEqual(index(fromServer), index(fromDisk));
    const missing = runCli(['explain', '--checkpoint', runDir, '--dicomweb', orthanc.dicomweb, ...auth, '--patient', '1.2.3.404', '--out', join(tmp, 'explain-none')]);
    assert.equal(missing.code, 16); // DICOMWEB
    assert.match(missing.stderr, /study 1\.2\.3\.404: not found on/);
  });

  it('retries 5xx answers and timeouts, and gives up with the cause after the last retry', async () => {
    const study = [...studies][0] as string;
    const headers = { Authorization: orthanc.authorization };
    const flaky = await faultyProxy(orthanc.dicomweb, 2, '503');
    try {
      const series = await new DicomwebClient({ url: flaky.url, headers, retryDelayMs: 10 }).searchSeries(study);
      assert.ok(series.length > 0);
      assert.deepEqual(flaky.served, { faults: 2, forwarded: 1 });
    } finally {
      await flaky.close();
    }
    const down = await faultyProxy(orthanc.dicomweb, 100, '503');
    try {
      await assert.rejects(new DicomwebClient({ url: down.url, headers, retries: 2, retryDelayMs: 10 }).searchSeries(study), /failed after 3 attempt\(s\): 503/);
      assert.equal(down.served.faults, 3);
    } finally {
      await down.close();
    }
    const slow = await faultyProxy(orthanc.dicomweb, 1, 'hang', 5000);
    try {
      const files = await new DicomwebClient({ url: slow.url, headers, timeoutMs: 500, retryDelayMs: 10 }).retrieveSeries(study, (await new DicomwebClient({ url: orthanc.dicomweb, headers }).searchSeries(study))[0]?.series as string);
      assert.ok(files.length > 0);
      assert.deepEqual(slow.served, { faults: 1, forwarded: 1 });
    } finally {
      await slow.close();
    }
  });
});
