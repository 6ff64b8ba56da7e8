/**
 * The project's seeded pseudo-random tools (phantoms, augmentation, shuffling, splits): a xoshiro128** generator seeded
 * through splitmix32, string/number hashing for deriving independent streams and identifiers,
 * and a fixed table of standard normals for fast per-pixel noise. Nothing here touches
 * `Math.random`, so every output is a pure function of its seed.
 */
import { IchnetError } from '../errors/ichnet-error.js';

/** FNV-1a over the UTF-16 code units of `text`, finished with murmur3's fmix32. */
export function hashString(text: string, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return fmix32(h);
}

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a list of seeds/indices/labels (order-sensitive). */
export function hashParts(...parts: Array<number | string>): number {
  return hashString(parts.map((p) => (typeof p === 'number' ? `n${p}` : `s${p}`)).join('\u0001'));
}

/**
 * xoshiro128** (Blackman & Vigna), 128-bit state, seeded with splitmix32 so that any 32-bit seed
 * (including 0) gives a well-mixed, non-zero state.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** @param seed any number; it is hashed to 32 bits (non-integers and negatives are fine). */
  constructor(seed: number) {
    let x = normaliseSeed(seed);
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0;
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0;
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** -1 or +1 with equal probability. */
  sign(): number {
    return this.u32() & 1 ? 1 : -1;
  }

  /** A standard normal (Box–Muller; consumes two draws). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new IchnetError('INVALID_ARGUMENT', 'Rng.pick: empty array');
    return item;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function normaliseSeed(seed: number): number {
  if (Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff) return seed >>> 0;
  return hashString(String(seed));
}

let normalTable: Float32Array | undefined;

/**
 * 65,536 standard normal samples drawn once from a fixed seed (the same table in every process),
 * indexed by the top 16 bits of a generator's output: one PRNG call per noisy pixel.
 */
export function standardNormalTable(): Float32Array {
  if (normalTable) return normalTable;
  const rng = new Rng(0x5eed1e55);
  const table = new Float32Array(65536);
  for (let i = 0; i < table.length; i++) table[i] = rng.normal();
  // Re-centre and re-scale so the table's own mean is 0 and its standard deviation is 1.
  let mean = 0;
  for (let i = 0; i < table.length; i++) mean += table[i]!;
  mean /= table.length;
  let variance = 0;
  for (let i = 0; i < table.length; i++) variance += (table[i]! - mean) ** 2;
  const scale = 1 / Math.sqrt(variance / table.length);
  for (let i = 0; i < table.length; i++) table[i] = (table[i]! - mean) * scale;
  normalTable = table;
  return table;
}

/**
 * A DICOM UID under the `2.25` root (ITU-T X.667: a UUID as one decimal integer), derived
 * deterministically from `parts`: 128 bits from four salted hashes, written without leading zeros.
 */
export function deterministicUid(...parts: Array<number | string>): string {
  const key = parts.map((p) => (typeof p === 'number' ? `n${p}` : `s${p}`)).join('\u0001');
  let value = 0n;
  for (let salt = 1; salt <= 4; salt++) value = (value << 32n) | BigInt(hashString(key, salt * 0x9e3779b1));
  if (value === 0n) value = 1n;
  return `2.25.${value.toString(10)}`;
}
