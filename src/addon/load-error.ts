/**
 * One message for every way the addon can fail to load: which binary, what is wrong (the missing
 * library, or the glibc / libstdc++ / LibTorch / CUDA mismatch) and the exact fix — never a bare
 * dlopen error. The dynamic loader's own words follow at the end.
 */
import type { AddonCandidate, NoneChosen, Problem } from './variant.js';
import { describeCandidate, getLibTorch, REBUILD, where } from './variant.js';
import type { LibTorch } from './scripts.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** What the loader knew when it tried: the binary, the LibTorch found, forced misfits. */
export interface LoadContext {
  candidate: AddonCandidate;
  /** Discovery's LibTorch, when discovery ran (prebuilds only). */
  libtorch: LibTorch | null;
  /** This system's glibc. */
  glibc: string | null;
  /** Why ICHNET_ADDON's forced choice was not expected to fit (empty otherwise). */
  forced: Problem[];
}

const CUDA_LIBS = /^lib(cudart|cublas|cublasLt|cufft|curand|cusparse|cusparseLt|cusolver|nvrtc|nvJitLink|nvToolsExt|cupti|nccl|cufile|nvshmem_host)\b/;

/** Reads the dynamic loader's message: what is wrong and how to fix it. */
function diagnose(message: string, ctx: LoadContext): Problem {
  const m = ctx.candidate.manifest;
  const wanted = m ? getLibTorch(m.torchVersion, m.cudaVersion) : REBUILD;
  const cpuInstead = ctx.candidate.variant === 'cuda' ? '; or run on the CPU: ICHNET_ADDON=cpu' : '';

  const missing = /([^\s:]+): cannot open shared object file/.exec(message)?.[1];
  if (missing !== undefined && missing !== ctx.candidate.path) {
    if (/^lib(torch|c10)/.test(missing)) {
      const gone = ctx.candidate.variant === 'source' && m ? ` (it was built against ${m.builtWith.torchLibDir}, which no longer provides it)` : '';
      return { message: `LibTorch's library ${missing} is missing${gone}`, fix: ctx.candidate.variant === 'source' ? `reinstall that LibTorch, or rebuild against the one you have: \`npm rebuild ichnet\`` : wanted };
    }
    const major = /\.so\.(\d+)/.exec(missing)?.[1];
    if (missing.startsWith('libcuda.so')) {
      return { message: 'the NVIDIA driver library libcuda.so.1 is missing', fix: `install the NVIDIA driver (\`nvidia-smi\` must work)${cpuInstead}` };
    }
    if (missing.startsWith('libcudnn')) {
      return {
        message: `cuDNN ${major ?? ''} (${missing}) is missing`.replace('  ', ' '),
        fix: `use the LibTorch of a PyTorch CUDA wheel, whose nvidia-cudnn package brings it (LIBTORCH_USE_PYTORCH=1), or install cuDNN ${major ?? ''} where the dynamic loader finds it (ldconfig)${cpuInstead}`,
      };
    }
    if (CUDA_LIBS.test(missing)) {
      return {
        message: `the CUDA ${major ?? ''} runtime library ${missing} is missing`.replace('  ', ' '),
        fix: `use the LibTorch of a PyTorch CUDA wheel, whose nvidia-* packages bring the CUDA libraries (LIBTORCH_USE_PYTORCH=1), or install CUDA ${major ?? m?.cudaVersion ?? ''}'s runtime libraries where the dynamic loader finds them (ldconfig)${cpuInstead}`,
      };
    }
    return { message: `the shared library ${missing} is missing`, fix: `install the package that provides it (Debian/Ubuntu: \`apt-file search ${missing}\`)` };
  }

  const version = /version [`']((GLIBC|GLIBCXX|CXXABI)_[\d.]+)' not found(?: \(required by ([^)]+)\))?/.exec(message);
  if (version) {
    const by = version[3] ? ` (required by ${version[3]})` : '';
    if (version[2] === 'GLIBC') {
      return { message: `needs ${version[1]}${by}, but this system has glibc ${ctx.glibc ?? 'of another kind'}`, fix: `${REBUILD}, or use a newer Linux distribution` };
    }
    return {
      message: `needs ${version[1]}${by}, which this system's C++ runtime (libstdc++.so.6) is too old to provide`,
      fix: `install a newer libstdc++6 (from a newer GCC), or ${REBUILD}`,
    };
  }

  const symbol = /undefined symbol: (\S+)/.exec(message)?.[1];
  if (symbol !== undefined) {
    const lt = ctx.libtorch;
    const built = m ? `LibTorch ${m.torchVersion} (C++11 ABI: ${m.cxx11Abi ? 'yes' : 'no'})` : 'another LibTorch';
    const found = lt ? `${where(lt)} (C++11 ABI: ${lt.cxx11Abi === 1 ? 'yes' : 'no'})` : 'the LibTorch the dynamic loader found';
    const abi = symbol.includes('__cxx11') || (lt !== null && m !== null && (lt.cxx11Abi === 1) !== m.cxx11Abi) ? ' — a C++ ABI mismatch' : ' — a LibTorch version mismatch';
    return { message: `the addon was built against ${built}, but runs on ${found}, which lacks the symbol ${symbol}${abi}`, fix: ctx.candidate.variant === 'source' ? 'rebuild against the LibTorch you have: `npm rebuild ichnet`' : wanted };
  }

  if (/invalid ELF header|wrong ELF class|file too short|ELF file/.test(message)) {
    return { message: `${ctx.candidate.path} is not a loadable binary for this machine (${process.platform}-${process.arch})`, fix: `reinstall ichnet, or ${REBUILD}` };
  }
  return { message: 'the dynamic loader refused the addon', fix: REBUILD };
}

function lines(problems: readonly Problem[]): string[] {
  return problems.flatMap((p) => [`  - ${p.message}`, `    fix: ${p.fix}`]);
}

/** The error for a binary that was chosen but failed to load (`cause` is the loader's error). */
export function loadError(cause: unknown, ctx: LoadContext): Error {
  const said = cause instanceof Error ? cause.message : String(cause);
  const d = diagnose(said, ctx);
  const text = [
    `ichnet: cannot load ${describeCandidate(ctx.candidate)} (${ctx.candidate.path}): ${d.message}.`,
    `Fix: ${d.fix}.`,
    ...(ctx.forced.length > 0 ? ['ICHNET_ADDON forced this binary although it does not fit:', ...lines(ctx.forced)] : []),
    `Dynamic loader: ${said}`,
  ];
  return new IchnetError('NATIVE_LOAD', text.join('\n'), { cause });
}

/** The error when no binary is there to load, with each candidate's reasons and fixes. */
export function noAddonError(choice: NoneChosen): Error {
  const text = [`ichnet: no native addon to load: ${choice.reason}.`];
  for (const { candidate, problems } of choice.rejected) {
    const what = describeCandidate(candidate);
    text.push(`${what.charAt(0).toUpperCase()}${what.slice(1)} does not fit:`, ...lines(problems));
  }
  text.push(
    choice.rejected.length > 0
      ? 'Apply one of the fixes above; `node scripts/libtorch.mjs` in the package shows the LibTorch found.'
      : `Fix: ${REBUILD}; \`node scripts/libtorch.mjs\` in the package shows the LibTorch found.`,
  );
  return new IchnetError('NATIVE_LOAD', text.join('\n'));
}
