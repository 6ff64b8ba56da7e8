/** What `precision: auto` means on this machine. */
import type { SessionConfig } from '../config/session-schema.js';

/** A precision the native session runs. */
export type ConcretePrecision = Exclude<SessionConfig['precision'], 'auto'>;

/**
 * `auto` → bf16 on CUDA and on CPUs with native bf16, fp32 otherwise; other values unchanged.
 *
 * @param device the configured device (`auto`, `cpu`, `cuda`, `cuda:<i>`)
 * @param cudaAvailable whether LibTorch sees a CUDA device (what `auto` devices resolve to)
 * @param cpuBf16 whether the CPU computes bf16 natively (src/addon/host.ts)
 */
export function concretePrecision(precision: SessionConfig['precision'], device: string, cudaAvailable: boolean, cpuBf16: boolean): ConcretePrecision {
  if (precision !== 'auto') return precision;
  const cuda = device.startsWith('cuda') || (device === 'auto' && cudaAvailable);
  return cuda || cpuBf16 ? 'bf16' : 'fp32';
}
