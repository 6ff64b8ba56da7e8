/**
 * Per-patient augmentation parameters, sampled here and applied by the native pipeline. One row
 * per patient, so every slice of a series gets the same geometry. Columns follow the addon's
 * `augParamNames` (the native code is the single source of their order).
 */
import type { AugmentConfig } from '../config/augment-schema.js';
import { augParamNames } from '../session/binding.js';
import { Rng } from './rng.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** Strength of augmentation in [0, 1] at a (0-based) epoch. */
export function augmentStrength(config: AugmentConfig, epoch: number): number {
  switch (config.schedule.kind) {
    case 'off':
      return 0;
    case 'constant':
      return 1;
    case 'linear':
      return Math.min(1, (epoch + 1) / config.schedule.ramp_epochs);
  }
}

type ParamName = 'flip' | 'rotation' | 'scale' | 'translate_x' | 'translate_y' | 'brightness' | 'contrast' | 'gamma';

/** The identity row: what an unaugmented patient gets. */
const IDENTITY: Record<ParamName, number> = {
  flip: 0,
  rotation: 0,
  scale: 1,
  translate_x: 0,
  translate_y: 0,
  brightness: 0,
  contrast: 1,
  gamma: 1,
};

function columns(): ParamName[] {
  const names = augParamNames();
  for (const n of names) if (!(n in IDENTITY)) throw new IchnetError('NATIVE_LOAD', `ichnet: the addon has an augmentation parameter '${n}' this version does not know`);
  return names as ParamName[];
}

/** Samples one patient's parameters at the given strength. */
function samplePatient(config: AugmentConfig, strength: number, rng: Rng): Record<ParamName, number> {
  const row = { ...IDENTITY };
  if (strength <= 0 || !rng.chance(config.p)) return row;
  const sym = (max: number) => rng.range(-max, max) * strength;
  row.flip = rng.chance(config.flip) ? 1 : 0;
  row.rotation = (sym(config.rotation) * Math.PI) / 180;
  const [lo, hi] = config.scale;
  row.scale = 1 + (rng.range(lo, hi) - 1) * strength;
  row.translate_x = sym(config.translate);
  row.translate_y = sym(config.translate);
  row.brightness = sym(config.brightness);
  row.contrast = 1 + sym(config.contrast);
  row.gamma = 1 + sym(config.gamma);
  return row;
}

/**
 * Augmentation parameters for `patients` patients at `epoch`, drawn from `rng` (so a seeded
 * stream gives identical batches): a Float32Array of patients × parameters for `Batch.aug`.
 */
export function sampleAugmentation(config: AugmentConfig, epoch: number, patients: number, rng: Rng): Float32Array {
  const names = columns();
  const strength = augmentStrength(config, epoch);
  const out = new Float32Array(patients * names.length);
  for (let b = 0; b < patients; b++) {
    const row = samplePatient(config, strength, rng);
    names.forEach((name, k) => (out[b * names.length + k] = row[name]));
  }
  return out;
}
