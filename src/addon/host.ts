/** The facts about this machine that decide which addon binary can run: glibc, N-API, NVIDIA driver. */
import { existsSync, readFileSync } from 'node:fs';

export { glibcVersion } from '../../scripts/glibc.mjs';

/**
 * The NVIDIA kernel driver's version ("580.95.05"), `WSL` when WSL 2's GPU bridge and its libcuda
 * are present, or null when there is no NVIDIA driver. Read from /proc/driver/nvidia/version, which
 * the driver creates and container runtimes pass through with the GPU.
 */
export function nvidiaDriverVersion(): string | null {
  try {
    const text = readFileSync('/proc/driver/nvidia/version', 'utf8');
    return /Kernel Module(?: for \S+)?\s+([\d.]+)/.exec(text)?.[1] ?? 'unknown version';
  } catch {
    return existsSync('/dev/dxg') && existsSync('/usr/lib/wsl/lib/libcuda.so.1') ? 'WSL' : null;
  }
}

/**
 * Whether the CPU computes bf16 natively (AVX-512 BF16 or AMX), where bf16 autocast makes training
 * faster (docs/BENCHMARKS.md). Without it oneDNN emulates bf16 and it is slower than fp32. Read
 * from /proc/cpuinfo (Linux); false elsewhere.
 */
export function cpuHasNativeBf16(): boolean {
  try {
    const flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(' ') ?? [];
    return flags.includes('avx512_bf16') || flags.includes('amx_bf16');
  } catch {
    return false;
  }
}
