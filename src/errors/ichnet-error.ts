/**
 * The one error class ichnet raises: every failure — bad config, bad data, bad weights, the native
 * addon, CUDA, a bad argument — is an {@link IchnetError} with a stable {@link IchnetErrorCode},
 * wherever it is raised. {@link ERROR_CODES} is the single table of codes, their meaning and the
 * exit code the `ichnet` command ends with; README.md's "Errors" table shows the same rows (a test
 * compares them).
 */

/** What each code means, and the exit code of the `ichnet` command that fails with it. */
export const ERROR_CODES = {
  USAGE: { exitCode: 2, meaning: 'the command line is wrong: an unknown option, a missing or conflicting argument' },
  CONFIG_INVALID: { exitCode: 3, meaning: 'a config key or value is invalid (every bad key is named), the config file cannot be read or parsed, or a `--set` or preset is unknown' },
  DATA_UNREADABLE: { exitCode: 4, meaning: 'a data file or folder is missing or cannot be read or decoded: an image, a DICOM file, a labels CSV, the dataset root' },
  DATA_INVALID: { exitCode: 5, meaning: 'the data reads but cannot be used: a missing column, a label other than 0/1, a patient without labels or slices, no patients, too few to split, labels that differ from the model\'s' },
  WEIGHTS_UNREADABLE: { exitCode: 6, meaning: 'a weights or checkpoint file is missing, truncated or not in a known format' },
  WEIGHTS_MISMATCH: { exitCode: 7, meaning: 'a weights file does not fit the model: a tensor of another shape (nothing was loaded), or `train.pretrained` matching none of the backbone\'s tensors' },
  RUN_DIR_INVALID: { exitCode: 8, meaning: 'not a run or checkpoint directory, or nothing in it to resume' },
  NATIVE_LOAD: { exitCode: 9, meaning: 'the native addon cannot be loaded: the message names the missing library or the version that does not match, and the fix' },
  CUDA_UNAVAILABLE: { exitCode: 10, meaning: 'a CUDA device was asked for, but LibTorch has no CUDA or no such device' },
  INVALID_ARGUMENT: { exitCode: 11, meaning: 'a function was called with an argument of the wrong type, shape or range (e.g. a batch whose lengths exceed its slices)' },
  SESSION_CLOSED: { exitCode: 12, meaning: 'a Session was used after `close()`' },
  LOSS_NOT_FINITE: { exitCode: 13, meaning: 'a training step\'s loss was NaN or infinite; the step was not applied' },
  NATIVE_FAILURE: { exitCode: 14, meaning: 'any other failure inside LibTorch (e.g. out of memory); the message is LibTorch\'s' },
  WRITE_FAILED: { exitCode: 15, meaning: 'a file or directory cannot be written: a full disk, a read-only mount, no permission, a directory where a file belongs; the previous checkpoint stays intact' },
  DICOMWEB: { exitCode: 16, meaning: 'a DICOMweb server refused (401/403), does not have (404) or could not deliver (5xx, timeouts, network failures, after the retries) a study; the message names the study and the URL' },
  DISTRIBUTED_FAILURE: { exitCode: 17, meaning: 'a data-parallel job failed: the rendezvous (a busy port, an unreachable master, ranks that disagree on the world size or config), or another rank stopped, died or went silent past the timeout; the message names the rank and the cause' },
  INTERRUPTED: { exitCode: 130, meaning: 'stopped by an AbortSignal after writing a resumable checkpoint: the reason `ichnet train` aborts with on Ctrl-C, which `fit()` rejects with under `onAbort: \'reject\'`' },
} as const satisfies Record<string, { exitCode: number; meaning: string }>;

/** The stable code of an {@link IchnetError}; {@link ERROR_CODES} lists them. */
export type IchnetErrorCode = keyof typeof ERROR_CODES;

/**
 * An error raised by ichnet. `code` says which kind of failure it is and stays the same across
 * versions; the message names the file, key, row or value at fault. A wrapped failure (a file
 * system error, LibTorch's message) is kept as `cause`.
 *
 * @example
 * import { IchnetError, loadExperimentConfig } from 'ichnet';
 *
 * try {
 *   await loadExperimentConfig({ set: ['optim.lr=-1'] });
 * } catch (e) {
 *   if (!(e instanceof IchnetError) || e.code !== 'CONFIG_INVALID') throw e;
 *   console.log(e.message); // invalid config (defaults):\nconfig.optim.lr: Too small: expected number to be >0
 * }
 */
export class IchnetError extends Error {
  override readonly name = 'IchnetError';

  constructor(
    /** Which kind of failure this is. */
    readonly code: IchnetErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The exit code the `ichnet` command ends with when it fails with this error. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }
}

/** The exit code of the `ichnet` command for `error`: its code's, or 1 for an error ichnet did not classify. */
export function exitCodeOf(error: unknown): number {
  return error instanceof IchnetError ? error.exitCode : 1;
}
