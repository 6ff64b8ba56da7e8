/**
 * Native failures as IchnetErrors. The addon throws a TypeError or RangeError for a bad argument
 * (before any work is queued) and rejects with a plain Error carrying LibTorch's or its own message
 * otherwise; the messages below are the addon's own (native/), one line each for the failures that
 * have a code of their own.
 */
import { IchnetError, type IchnetErrorCode } from '../errors/ichnet-error.js';

/** The native operation that failed: loading weights or a checkpoint makes an unreadable file WEIGHTS_UNREADABLE. */
export type NativeOperation = 'load' | 'other';

const BY_MESSAGE: ReadonlyArray<[RegExp, IchnetErrorCode]> = [
  [/this session is closed/, 'SESSION_CLOSED'],
  [/requested but (CUDA is not available|only \d+ CUDA device\(s\) exist)/, 'CUDA_UNAVAILABLE'],
  [/device: expected/, 'CONFIG_INVALID'],
  [/shape mismatch, nothing was loaded/, 'WEIGHTS_MISMATCH'],
  [/loss is (NaN|infinite) at step/, 'LOSS_NOT_FINITE'],
];

/**
 * Re-creates a native error as an IchnetError with its code, here, so that its stack points at the
 * caller's code rather than at an anonymous promise settlement; the original stays as `cause`.
 */
export function rethrow(error: unknown, operation: NativeOperation = 'other'): IchnetError {
  if (error instanceof IchnetError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code =
    BY_MESSAGE.find(([pattern]) => pattern.test(message))?.[1] ??
    (error instanceof TypeError || error instanceof RangeError ? 'INVALID_ARGUMENT' : operation === 'load' ? 'WEIGHTS_UNREADABLE' : 'NATIVE_FAILURE');
  return new IchnetError(code, message, { cause: error });
}
