/** Reads safetensors files in tests (independent of the native reader under test). */
import { readFileSync } from 'node:fs';

export interface NamedArray {
  dtype: string;
  shape: number[];
  data: Float64Array;
}

const readers: Record<string, (v: DataView, o: number) => number> = {
  F32: (v, o) => v.getFloat32(o, true),
  F64: (v, o) => v.getFloat64(o, true),
  I64: (v, o) => Number(v.getBigInt64(o, true)),
  I32: (v, o) => v.getInt32(o, true),
  U8: (v, o) => v.getUint8(o),
};
const sizes: Record<string, number> = { F32: 4, F64: 8, I64: 8, I32: 4, U8: 1 };

export function readSafetensors(path: string): Map<string, NamedArray> {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const view = new DataView(buf.buffer, buf.byteOffset + 8 + headerLen);
  const out = new Map<string, NamedArray>();
  for (const [name, spec] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const read = readers[spec.dtype];
    const size = sizes[spec.dtype];
    if (!read || !size) throw new Error(`${path}: test reader lacks dtype ${spec.dtype}`);
    const count = (spec.data_offsets[1] - spec.data_offsets[0]) / size;
    const data = new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = read(view, spec.data_offsets[0] + i * size);
    out.set(name, { dtype: spec.dtype, shape: spec.shape, data });
  }
  return out;
}

/** ||a - b|| / max(||b||, tiny): the relative error of a whole tensor. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += ((a[i] as number) - (b[i] as number)) ** 2;
    den += (b[i] as number) ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}
