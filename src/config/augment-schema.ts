/** Augmentation settings (docs/ARCHITECTURE.md §3 steps 3-4): probabilities, ranges and a schedule. */
import { z } from 'zod';

const probability = z.number().min(0).max(1);

/** The `augment` section of an experiment config: which augmentations, how strong, and from which epoch. */
export const augmentSchema = z.strictObject({
  p: probability.default(0.8).describe('probability that a patient is augmented at all'),
  flip: probability.default(0.5).describe('probability of a left-right flip'),
  rotation: z.number().min(0).max(180).default(15).describe('maximum rotation in degrees (uniform in ±)'),
  scale: z
    .tuple([z.number().positive(), z.number().positive()])
    .refine(([lo, hi]) => lo <= hi, 'expected [min, max]')
    .default([0.9, 1.1])
    .describe('isotropic zoom range'),
  translate: z.number().min(0).max(0.5).default(0.05).describe('maximum shift as a fraction of the size (uniform in ±, per axis)'),
  brightness: z.number().min(0).max(1).default(0.1).describe('maximum brightness shift in [0, 1] space (uniform in ±)'),
  contrast: z.number().min(0).max(1).default(0.1).describe('contrast factor uniform in [1 - c, 1 + c]'),
  gamma: z.number().min(0).max(1).default(0).describe('gamma uniform in [1 - g, 1 + g]; 0 turns it off'),
  schedule: z
    .strictObject({
      kind: z.enum(['off', 'constant', 'linear']).default('linear').describe('off, full strength, or a linear ramp'),
      ramp_epochs: z.number().int().min(1).default(3).describe('epochs until full strength (linear)'),
    })
    .prefault({})
    .describe('how the augmentation strength grows over the epochs'),
});

// The types, every key documented: generated from the schema (src/config/config-types.ts checks them).
export type { AugmentConfig, AugmentConfigInput } from './types.generated.js';
