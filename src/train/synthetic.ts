/** The built-in dataset: generated on first use, so every command runs without private data. */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { ExperimentConfig } from '../config/experiment-schema.js';
import type { PhantomOptions } from '../data/synth/phantom.js';
import { writeSyntheticDataset } from '../data/synth/write.js';
import { IchnetError } from '../errors/ichnet-error.js';

const MARKER = '.ichnet-synthetic.json';

/** The phantom options every patient of the synthetic set described by `s` is generated with. */
export function syntheticPhantomOptions(s: ExperimentConfig['synthetic']): Omit<PhantomOptions, 'seed'> {
  return {
    slices: s.slices,
    size: s.size,
    ...(s.prevalence ? { prevalence: s.prevalence } : {}),
    ...(s.noise ? { noiseSigma: s.noise } : {}),
  };
}

/**
 * When `data.format` is `synthetic`, makes sure `data.root` holds the synthetic set described by
 * `config.synthetic`: generates it when missing, regenerates a set this function wrote earlier
 * with other settings, and refuses to touch a folder it did not write.
 */
export async function ensureSyntheticData(config: ExperimentConfig, log: (line: string) => void = console.error, waiter?: { waitSeconds: number }): Promise<void> {
  if (config.data.format !== 'synthetic') return;
  const root = resolve(config.data.root);
  const wanted = JSON.stringify(config.synthetic);
  const marker = join(root, MARKER);
  if (waiter) {
    // Another process (rank 0 of a data-parallel job) writes the set: wait for its marker.
    if (!existsSync(marker) && existsSync(join(root, 'train.csv'))) return; // a folders-layout set the user put there
    const until = Date.now() + waiter.waitSeconds * 1000;
    while (!(existsSync(marker) && readFileSync(marker, 'utf8') === wanted)) {
      if (Date.now() > until) throw new IchnetError('DATA_INVALID', `${root}: the synthetic set was not written by rank 0 within ${waiter.waitSeconds} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return;
  }
  if (existsSync(marker)) {
    if (readFileSync(marker, 'utf8') === wanted) return;
    log(`ichnet: regenerating the synthetic set in ${root} (settings changed)`);
    await rm(root, { recursive: true, force: true });
  } else if (existsSync(join(root, 'train.csv'))) {
    return; // a folders-layout set the user put there
  } else if (existsSync(root) && !existsSync(join(root, 'train'))) {
    // an empty or unrelated folder: generate into it
  }
  const s = config.synthetic;
  const t0 = performance.now();
  log(`ichnet: generating the synthetic CT set (${s.patients} patients, ${s.size}², ${s.format}) in ${root}`);
  const info = await writeSyntheticDataset({
    out: root,
    patients: s.patients,
    seed: s.seed,
    format: s.format,
    ...syntheticPhantomOptions(s),
  });
  await writeFile(marker, wanted);
  log(`ichnet: ${info.slices} slices written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
