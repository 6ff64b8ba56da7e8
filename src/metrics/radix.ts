/**
 * Sorting float32 values through order-preserving uint32 keys with an LSD radix sort: O(N) and
 * several times faster than `TypedArray.prototype.sort` on a million values.
 */

const BITS = 11;
const BUCKETS = 1 << BITS;
const MASK = BUCKETS - 1;

/**
 * The order-preserving uint32 key of a float32 given by its bit pattern (not NaN): for floats
 * `a < b`, `key(a) < key(b)`; -0 gets the key of +0. Flips the sign bit of non-negatives and
 * every bit of negatives.
 */
export function float32BitsToKey(bits: number): number {
  if (bits === 0x80000000) return 0x80000000;
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/** The float32 bit pattern of a key made by {@link float32BitsToKey}. */
export function keyToFloat32Bits(key: number): number {
  return key & 0x80000000 ? (key & 0x7fffffff) >>> 0 : ~key >>> 0;
}

/** Sorts uint32 keys ascending in place (three 11-bit LSD passes, O(N)); returns `keys`. */
export function radixSortUint32(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  if (n < 2) return keys;
  let src: Uint32Array = keys;
  let dst: Uint32Array = new Uint32Array(n);
  const counts = new Uint32Array(BUCKETS);
  for (let shift = 0; shift < 32; shift += BITS) {
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const d = ((src[i] as number) >>> shift) & MASK;
      counts[d] = (counts[d] as number) + 1;
    }
    // Skip a pass where every key shares the digit.
    if (counts[((src[0] as number) >>> shift) & MASK] === n) continue;
    let sum = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[b] as number;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = src[i] as number;
      const d = (k >>> shift) & MASK;
      const at = counts[d] as number;
      dst[at] = k;
      counts[d] = at + 1;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== keys) keys.set(src);
  return keys;
}
