/**
 * The config types are interfaces generated from the zod schemas (types.generated.ts, by
 * tools/config-types.mjs) so that every key carries its description as a doc comment. This
 * module proves at compile time that each equals its schema's own type: a schema change that the
 * generated file does not follow fails the build (and test/config-types.test.ts names the fix).
 */
import type { z } from 'zod';

import type { augmentSchema } from './augment-schema.js';
import type { dataSchema } from './data-schema.js';
import type { experimentSchema } from './experiment-schema.js';
import type { sessionSchema } from './session-schema.js';
import type * as Generated from './types.generated.js';

/** True when A and B are assignable to each other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

/**
 * Compile-time checks only: each generated type equals its schema's. When one fails ("Type 'false'
 * does not satisfy the constraint 'true'"), a schema changed: run `node tools/config-types.mjs`
 * (it reads dist/, which tsc still writes despite this error) and compile again.
 */
export type GeneratedTypesMatchSchemas = [
  Assert<Same<Generated.ExperimentConfig, z.output<typeof experimentSchema>>>,
  Assert<Same<Generated.ExperimentConfigInput, z.input<typeof experimentSchema>>>,
  Assert<Same<Generated.SessionConfig, z.output<typeof sessionSchema>>>,
  Assert<Same<Generated.SessionConfigInput, z.input<typeof sessionSchema>>>,
  Assert<Same<Generated.DataConfig, z.output<typeof dataSchema>>>,
  Assert<Same<Generated.DataConfigInput, z.input<typeof dataSchema>>>,
  Assert<Same<Generated.AugmentConfig, z.output<typeof augmentSchema>>>,
  Assert<Same<Generated.AugmentConfigInput, z.input<typeof augmentSchema>>>,
];
