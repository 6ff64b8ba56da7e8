/**
 * The fuzzing loop, run as its own process by test/fuzz.test.ts so that a crash or a hang is seen
 * as one (an exit by signal, a timeout) instead of taking the test runner down.
 *
 * argv: <target: dicom | weights> <seed> <seconds> <work dir> <seed files…>
 * Each case mutates one seed file (seeded PRNG), writes it to <work dir>, and reads it with the
 * reader under test. A case passes when the reader resolves with a consistent result or rejects
 * with an Error whose message names the file. Before each case its path is written to
 * <work dir>/current, so a crash leaves the offending file named. Prints a JSON summary.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { readDicom, Session } from '../../src/index.js';
import { rng } from './tiny.js';
import { tinyConfig } from './tiny.js';

const [target, seedArg, secondsArg, work, ...seeds] = process.argv.slice(2);
const random = rng(Number(seedArg));
const int = (n: number) => Math.floor(random() * n);

/** One mutation of `input`: bit flips, magic values, LE integers, truncation, duplicated or removed runs. */
function mutate(input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + int(4);
  for (let e = 0; e < edits && b.length > 0; e++) {
    // Most of a file is pixel or tensor data; bias edits towards the headers where parsers live.
    const at = random() < 0.7 ? int(Math.min(b.length, 2048)) : int(b.length);
    switch (int(7)) {
      case 0:
        b[at] = (b[at] as number) ^ (1 << int(8));
        break;
      case 1:
        b[at] = [0, 0xff, 0x7f, 0x80, 0x01, 0xfe][int(6)] as number;
        break;
      case 2:
        if (at + 4 <= b.length) b.writeUInt32LE([0xffffffff, 0x7fffffff, 0, 1, b.length, b.length * 2][int(6)] as number >>> 0, at);
        break;
      case 3:
        if (at + 8 <= b.length) b.writeBigUInt64LE([0n, 0xffffffffffffffffn, 1n << 40n, BigInt(b.length)][int(4)] as bigint, at);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5: {
        const len = 1 + int(64);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      default: {
        const len = 1 + int(64);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
      }
    }
  }
  return b;
}

interface Summary {
  cases: number;
  resolved: number;
  rejected: number;
  /** Cases whose outcome broke the contract, with the file kept for reproduction. */
  bad: string[];
}

async function main(): Promise<void> {
  const inputs = seeds.map((s) => ({ name: basename(s), bytes: readFileSync(s) }));
  const summary: Summary = { cases: 0, resolved: 0, rejected: 0, bad: [] };
  const session = target === 'weights' ? await Session.create(tinyConfig()) : undefined;
  const deadline = Date.now() + Number(secondsArg) * 1000;
  while (Date.now() < deadline) {
    const input = inputs[summary.cases % inputs.length] as { name: string; bytes: Buffer };
    const path = join(work as string, `case${summary.cases}-${input.name}`);
    writeFileSync(path, mutate(input.bytes));
    writeFileSync(join(work as string, 'current'), path);
    summary.cases++;
    try {
      if (session) {
        const report = await session.loadWeights(path);
        if (![report.loaded, report.missing, report.unexpected].every(Array.isArray)) throw new Error('malformed load report');
      } else {
        const image = await readDicom(path);
        const spp = image.meta.samplesPerPixel;
        if (image.pixels.length !== image.rows * image.columns * spp || image.pixels.some((v) => Number.isNaN(v))) {
          summary.bad.push(`${path}: resolved with ${image.pixels.length} values for ${image.rows}×${image.columns}×${spp}`);
          continue;
        }
      }
      summary.resolved++;
    } catch (e) {
      summary.rejected++;
      if (!(e instanceof Error) || !e.message.includes(path)) summary.bad.push(`${path}: rejected without naming the file: ${String(e)}`);
    }
  }
  await session?.close();
  process.stdout.write(JSON.stringify(summary));
}

await main();
