/** Bad input: stop with an error naming the file, or skip it and keep a record (never silently). */
import { IchnetError, type IchnetErrorCode } from '../../errors/ichnet-error.js';
import type { OnError, SkippedItem } from '../types.js';

export class Problems {
  readonly skipped: SkippedItem[] = [];
  constructor(private readonly mode: OnError) {}

  /** Throws `path: reason` as an IchnetError with `code`, or records it when skipping. */
  report(path: string, reason: string, code: IchnetErrorCode = 'DATA_UNREADABLE'): void {
    if (this.mode === 'error') throw new IchnetError(code, `${path}: ${reason}`);
    this.skipped.push({ path, reason });
  }
}
