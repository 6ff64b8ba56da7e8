/**
 * A real Orthanc with its DICOMweb plugin for tests: configured in a temporary folder (HTTP on a
 * free loopback port, no DICOM port, storage in the folder, one registered user), started as a child
 * process, loaded through its REST API, and killed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { tempDir } from './temp-dir.js';

/** The DICOMweb plugin shipped by Debian's orthanc-dicomweb. */
export function dicomwebPlugin(): string {
  for (const dir of ['/usr/share/orthanc/plugins', '/usr/lib/orthanc']) {
    if (!existsSync(dir)) continue;
    const lib = readdirSync(dir).find((f) => /^libOrthancDicomWeb\.so/.test(f));
    if (lib) return join(dir, lib);
  }
  throw new Error('the Orthanc DICOMweb plugin is not installed (Debian: apt-get install orthanc orthanc-dicomweb)');
}

/** The Orthanc server binary. */
function orthancBinary(): string {
  const found = ['/usr/sbin/Orthanc', '/usr/bin/Orthanc'].find(existsSync);
  if (!found) throw new Error('Orthanc is not installed (Debian: apt-get install orthanc orthanc-dicomweb)');
  return found;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Orthanc {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The DICOMweb root, `<url>/dicom-web`. */
  dicomweb: string;
  /** `Authorization` header value of the registered user. */
  authorization: string;
  /** Stores one DICOM file; returns Orthanc's answer (ParentStudy etc.). */
  upload(bytes: Uint8Array): Promise<{ ID: string; ParentStudy: string; Status: string }>;
  stop(): Promise<void>;
}

export async function startOrthanc(): Promise<Orthanc> {
  const dir = tempDir('ichnet-orthanc-');
  const port = await freePort();
  const user = 'ichnet';
  const password = 'test-only-password';
  writeFileSync(
    join(dir, 'orthanc.json'),
    JSON.stringify({
      Name: 'ichnet-test',
      StorageDirectory: join(dir, 'db'),
      IndexDirectory: join(dir, 'db'),
      HttpPort: port,
      DicomServerEnabled: false,
      RemoteAccessAllowed: false, // loopback clients only
      AuthenticationEnabled: true,
      RegisteredUsers: { [user]: password },
      Plugins: [dicomwebPlugin()],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
      HttpThreadsCount: 4,
      ConcurrentJobs: 1,
      SaveJobs: false,
    }),
  );
  const child: ChildProcess = spawn(orthancBinary(), [join(dir, 'orthanc.json')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  // Wait until it answers (bounded).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Orthanc exited with ${child.exitCode}:\n${log}`);
    try {
      const r = await fetch(`${url}/system`, { headers: { Authorization: authorization } });
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Orthanc did not answer on ${url} within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    dicomweb: `${url}/dicom-web`,
    authorization,
    async upload(bytes) {
      const r = await fetch(`${url}/instances`, { method: 'POST', body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as BodyInit, headers: { Authorization: authorization, 'Content-Type': 'application/dicom' } });
      if (!r.ok) throw new Error(`Orthanc refused an upload: ${r.status} ${await r.text()}`);
      return (await r.json()) as { ID: string; ParentStudy: string; Status: string };
    },
    stop,
  };
}
