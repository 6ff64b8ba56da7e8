/** Writes the report to disk atomically. */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { renderReport } from './html.js';
import type { ReportInput } from './types.js';

/**
 * Renders the report and writes it to `path` through a temporary file in the same folder and a
 * rename, so a reader never sees a half-written page. Creates the folder if needed.
 */
export async function writeReport(path: string, input: ReportInput): Promise<void> {
  const html = await renderReport(input);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, html, 'utf8');
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
