/** Bad input: stop with an error naming the file, or skip it and keep a record (never silently). */
import type { OnError, SkippedItem } from '../types.js';

export class Problems {
  readonly skipped: SkippedItem[] = [];
  constructor(private readonly mode: OnError) {}

  /** Throws `path: reason`, or records it when skipping. */
  report(path: string, reason: string): void {
    if (this.mode === 'error') throw new Error(`${path}: ${reason}`);
    this.skipped.push({ path, reason });
  }
}
