/** `ichnet train`: resolve the config, train, print the final table. */
import { loadExperimentConfig } from '../config/load.js';
import { placementFromEnv } from '../distributed/env.js';
import { exitWithLauncher, launch, LAUNCHED_ENV } from '../distributed/launcher.js';
import { ERROR_CODES, IchnetError } from '../errors/ichnet-error.js';
import { Trainer } from '../train/trainer.js';
import { attachProgress } from './progress.js';
import { formatScores } from './table.js';

export interface TrainArgs {
  config?: string;
  preset?: string;
  data?: string;
  out?: string;
  set?: string[];
  resume?: string;
  /** Data-parallel ranks to start on this machine (each runs this same command). */
  nproc?: number;
}

/**
 * How long the launcher lets the other ranks notice a failed one before it stops them: the
 * default `distributed.timeout` (60 s) plus time to write their error.
 */
const RANK_GRACE_MS = 75_000;

/** Exit codes: 0 done, 130 interrupted (a resumable checkpoint was written); a failure throws. */
export async function trainCommand(args: TrainArgs): Promise<number> {
  const placement = placementFromEnv(process.env);
  if (args.nproc !== undefined && placement === null) {
    if (!(Number.isInteger(args.nproc) && args.nproc >= 1)) throw new IchnetError('USAGE', `--nproc ${args.nproc}: expected a positive integer`);
    // This process becomes the launcher: the ranks run this same command line.
    return launch({ nproc: args.nproc, command: process.execPath, args: process.argv.slice(1), graceMs: RANK_GRACE_MS });
  }
  if (process.env[LAUNCHED_ENV] === '1') exitWithLauncher();
  const rank = placement?.rank ?? 0;
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(ERROR_CODES.INTERRUPTED.exitCode); // a second Ctrl-C: stop now
    process.stderr.write('\nichnet: interrupted — finishing the current step and writing a resumable checkpoint (Ctrl-C again to quit at once)\n');
    controller.abort(new IchnetError('INTERRUPTED', 'interrupted by Ctrl-C (SIGINT)'));
  };
  process.on('SIGINT', onSigint);
  try {
    let trainer: Trainer;
    if (args.resume) {
      trainer = await Trainer.resume(args.resume, { signal: controller.signal });
    } else {
      const base: Record<string, unknown> = {};
      if (args.data) Object.assign(base, { 'data.root': args.data, 'data.format': 'auto' });
      if (args.out) base.out = args.out;
      const preset = args.config ? undefined : (args.preset ?? 'quickstart');
      const config = await loadExperimentConfig({ config: args.config, preset, set: args.set, base });
      trainer = await Trainer.create(config, { signal: controller.signal });
    }
    // In a data-parallel job rank 0 reports; the other ranks speak only of their own errors.
    if (rank !== 0) return (await trainer.fit()).interrupted ? ERROR_CODES.INTERRUPTED.exitCode : 0;
    if (placement) process.stderr.write(`ichnet: data-parallel job of ${placement.worldSize} rank(s), rendezvous at ${placement.masterAddr}:${placement.masterPort}\n`);
    process.stderr.write(`ichnet: run directory ${trainer.runDir}\n`);
    const stopProgress = attachProgress(trainer);
    const result = await trainer.fit();
    stopProgress();
    if (result.interrupted) {
      process.stderr.write(`ichnet: stopped. Resume with: ichnet train --resume ${result.runDir}\n`);
      return ERROR_CODES.INTERRUPTED.exitCode;
    }
    if (result.final) {
      console.log(`\nValidation (best checkpoint, ${trainer.config.train.monitor} = ${result.best?.value.toFixed(4)} at epoch ${(result.best?.epoch ?? 0) + 1}; tuned thresholds):`);
      console.log(formatScores(trainer.config.model.labels, result.final, result.thresholds));
    }
    if (result.skipped.length > 0) {
      console.log(`\n${result.skipped.length} input(s) skipped (data.on_error: skip), also listed in report.html and final-metrics.json:`);
      for (const s of result.skipped.slice(0, 20)) console.log(`  ${s.path}: ${s.reason}`);
      if (result.skipped.length > 20) console.log(`  … and ${result.skipped.length - 20} more`);
    }
    console.log(`\nrun: ${result.runDir}\nreport: ${result.runDir}/report.html`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
