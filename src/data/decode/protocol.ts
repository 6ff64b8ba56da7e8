/** The messages between the decode pool and its worker threads. */
import type { IchnetErrorCode } from '../../errors/ichnet-error.js';
import type { SlicePixels } from '../types.js';

/** One slice to decode, and optionally a spent pixel buffer handed back for reuse. */
export interface DecodeRequest {
  id: number;
  path: string;
  rsnaFix: boolean;
  spare?: ArrayBuffer;
}

/** A decoded slice, or the error readSlice threw (its message starts with the path; its IchnetError code). */
export type DecodeReply =
  | { id: number; ok: true; pixels: SlicePixels; busyMs: number }
  | { id: number; ok: false; message: string; code: IchnetErrorCode; busyMs: number };
