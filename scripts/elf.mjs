// Reads the dynamic-linking facts of an ELF64 little-endian shared object (Linux x64/arm64):
// what it is called (DT_SONAME), which libraries it needs (DT_NEEDED), where it looks for them
// (DT_RUNPATH / DT_RPATH) and which symbol versions it requires from each (GLIBC_2.32,
// GLIBCXX_3.4.29, ...). The prebuild manifest records these, and discovery reads libtorch_cuda's
// needs to learn LibTorch's CUDA major, without binutils at install time.
//
// Only the parts of the file that hold these tables are read: libtorch_cuda.so is about 1 GB.
import { closeSync, openSync, readSync } from 'node:fs';

const SHT_DYNAMIC = 6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NEEDED = 1n;
const DT_SONAME = 14n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

/** @param {number} fd @param {number} offset @param {number} length */
function readAt(fd, offset, length) {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${offset + done}`);
    done += n;
  }
  return buf;
}

/**
 * A NUL-terminated string at `at` in a string table.
 * @param {Buffer} table
 * @param {number} at
 */
function cstr(table, at) {
  const end = table.indexOf(0, at);
  return table.toString('latin1', at, end < 0 ? table.length : end);
}

/**
 * @typedef {object} ElfDynamic
 * @property {string | null} soname
 * @property {string[]} needed      DT_NEEDED sonames, in order
 * @property {string[]} runpath     DT_RUNPATH (or DT_RPATH) entries
 * @property {Record<string, string[]>} versions  required symbol versions by library soname
 */

/**
 * Reads `file`'s dynamic section and version needs. Throws on files that are not ELF64 LE.
 * @param {string} file
 * @returns {ElfDynamic}
 */
export function readElf(file) {
  const fd = openSync(file, 'r');
  try {
    const head = readAt(fd, 0, 64);
    if (head.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
    if (head[4] !== 2 || head[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
    const shoff = Number(head.readBigUInt64LE(0x28));
    const shentsize = head.readUInt16LE(0x3a);
    const shnum = head.readUInt16LE(0x3c);
    const table = readAt(fd, shoff, shentsize * shnum);
    const sections = Array.from({ length: shnum }, (_, i) => {
      const o = i * shentsize;
      return {
        type: table.readUInt32LE(o + 4),
        offset: Number(table.readBigUInt64LE(o + 24)),
        size: Number(table.readBigUInt64LE(o + 32)),
        link: table.readUInt32LE(o + 40),
        info: table.readUInt32LE(o + 44),
      };
    });
    /** @param {{ offset: number; size: number } | undefined} s */
    const body = (s) => {
      if (!s) throw new Error(`${file}: a section link points past the section table`);
      return readAt(fd, s.offset, s.size);
    };
    /** @type {ElfDynamic} */
    const result = { soname: null, needed: [], runpath: [], versions: {} };

    const dynamic = sections.find((s) => s.type === SHT_DYNAMIC);
    if (!dynamic) return result;
    const dynstr = body(sections[dynamic.link]);
    const entries = body(dynamic);
    /** @type {string[]} */
    let rpath = [];
    for (let o = 0; o + 16 <= entries.length; o += 16) {
      const tag = entries.readBigInt64LE(o);
      if (tag === 0n) break;
      const value = Number(entries.readBigUInt64LE(o + 8));
      if (tag === DT_NEEDED) result.needed.push(cstr(dynstr, value));
      else if (tag === DT_SONAME) result.soname = cstr(dynstr, value);
      else if (tag === DT_RUNPATH) result.runpath = cstr(dynstr, value).split(':').filter(Boolean);
      else if (tag === DT_RPATH) rpath = cstr(dynstr, value).split(':').filter(Boolean);
    }
    if (result.runpath.length === 0) result.runpath = rpath;

    const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
    if (verneed) {
      const strings = body(sections[verneed.link]);
      const v = body(verneed);
      // Elf64_Verneed {u16 version, u16 cnt, u32 file, u32 aux, u32 next}; Elf64_Vernaux {u32 hash,
      // u16 flags, u16 other, u32 name, u32 next}; `info` holds the number of Verneed entries.
      for (let i = 0, o = 0; i < verneed.info; i++) {
        const names = (result.versions[cstr(strings, v.readUInt32LE(o + 4))] ??= []);
        for (let j = 0, a = o + v.readUInt32LE(o + 8); j < v.readUInt16LE(o + 2); j++) {
          names.push(cstr(strings, v.readUInt32LE(a + 8)));
          a += v.readUInt32LE(a + 12);
        }
        o += v.readUInt32LE(o + 12);
      }
    }
    return result;
  } finally {
    closeSync(fd);
  }
}

/**
 * The highest version with `prefix` (e.g. "GLIBC_") among `names`, as "2.32", or null.
 * @param {string[]} names
 * @param {string} prefix
 */
export function highestVersion(names, prefix) {
  let best = null;
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^[\d.]+$/.test(name.slice(prefix.length))) continue;
    const v = name.slice(prefix.length);
    if (best === null || compareVersions(v, best) > 0) best = v;
  }
  return best;
}

/**
 * Compares dotted versions numerically ("2.9" < "2.14"); missing parts count as 0.
 * @param {string} a
 * @param {string} b
 */
export function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
