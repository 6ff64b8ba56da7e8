/**
 * OpenMP settings that must be in the environment before LibTorch's OpenMP runtime loads (it reads
 * them once, when the addon is first loaded).
 *
 * OMP_WAIT_POLICY=PASSIVE: by default libgomp's threads spin at every barrier before sleeping. In
 * ichnet the JS thread decodes the next batch while a session computes, so the machine always has
 * one more busy thread than the session's OpenMP team; a spinning team member then burns the core
 * its partner needs, and each of a training step's thousands of parallel regions can wait for a
 * scheduler time slice (docs/BENCHMARKS.md measures the slowdown). The user's own setting is kept.
 */
export function setOpenMpDefaults(env: NodeJS.ProcessEnv = process.env): void {
  env.OMP_WAIT_POLICY ??= 'PASSIVE';
}
