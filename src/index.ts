/**
 * ichnet: intracranial hemorrhage classification on CT with a LibTorch core.
 * @packageDocumentation
 */
export { Session } from './session/session.js';
export type { Batch, LoadReport, SessionInfo, StepResult } from './session/types.js';
export {
  resolveSessionConfig,
  sessionSchema,
  type SessionConfig,
  type SessionConfigInput,
} from './config/session-schema.js';
export { COURSE_LABELS, RSNA_LABELS } from './config/labels.js';
export { DEFAULT_WINDOWS, IMAGENET_MEAN, IMAGENET_STD } from './config/prep-constants.js';
export { runtimeInfo, type RuntimeReport } from './native/runtime.js';
