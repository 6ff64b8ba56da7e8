/**
 * Choosing the addon binary (src/addon/variant.ts) over every combination of ICHNET_ADDON, a
 * build from source, the prebuilds present, the NVIDIA driver, the LibTorch found and glibc,
 * against the rule written out independently here; then the messages of the common misfits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { AddonManifest } from '../src/addon/scripts.js';
import {
  ADDON_REQUESTS,
  chooseAddon,
  prebuildProblems,
  type AddonCandidate,
  type Discovery,
  type FoundLibTorch,
  type HostFacts,
} from '../src/addon/variant.js';

function manifest(variant: 'cpu' | 'cuda', over: Partial<AddonManifest> = {}): AddonManifest {
  const cuda = variant === 'cuda';
  const torchLibraries = ['libtorch.so', 'libc10.so', 'libtorch_cpu.so', ...(cuda ? ['libtorch_cuda.so', 'libc10_cuda.so'] : [])];
  return {
    variant,
    platform: 'linux-x64',
    torchVersion: '2.11.0',
    cudaVersion: cuda ? '13.0' : null,
    cxx11Abi: true,
    libraries: [...torchLibraries, ...(cuda ? ['libcudart.so.13'] : []), 'libstdc++.so.6', 'libc.so.6'],
    torchLibraries,
    glibc: '2.28',
    glibcxx: '3.4.22',
    cxxabi: '1.3.11',
    napi: 8,
    builtWith: { node: 'v20.20.2', glibc: '2.28', torchSource: 'python', torchLibDir: '/build/venv/lib/python3.12/site-packages/torch/lib' },
    date: '2026-11-25T00:00:00.000Z',
    ...over,
  };
}

function libtorch(over: Partial<FoundLibTorch> = {}): FoundLibTorch {
  const cuda = over.cudaVersion !== undefined && over.cudaVersion !== null;
  return {
    source: 'python',
    cmakePrefix: '/venv/torch/share/cmake',
    cmakeDir: '/venv/torch/share/cmake/Torch',
    includeDirs: ['/venv/torch/include'],
    libDir: '/venv/torch/lib',
    version: '2.11.0',
    cxx11Abi: 1,
    cuda,
    cudaVersion: null,
    files: ['libtorch.so', 'libc10.so', 'libtorch_cpu.so', ...(cuda ? ['libtorch_cuda.so', 'libc10_cuda.so'] : []), 'libshm.so'],
    ...over,
  };
}

const cpuPrebuild: AddonCandidate = { variant: 'cpu', path: '/pkg/prebuilds/linux-x64/cpu/ichnet.node', manifest: manifest('cpu') };
const cudaPrebuild: AddonCandidate = { variant: 'cuda', path: '/pkg/prebuilds/linux-x64/cuda/ichnet.node', manifest: manifest('cuda') };
const sourceBuild: AddonCandidate = { variant: 'source', path: '/pkg/build/Release/ichnet.node', manifest: null };

/** LibTorch situations, and which prebuild variants each one fits by itself (ignoring driver and glibc). */
const TORCH: Record<string, { discovery: Discovery; fits: { cpu: boolean; cuda: boolean } }> = {
  none: { discovery: { found: null, error: null }, fits: { cpu: false, cuda: false } },
  'discovery error': { discovery: { found: null, error: 'LIBTORCH=/x: no TorchConfig.cmake' }, fits: { cpu: false, cuda: false } },
  'cpu 2.11': { discovery: { found: libtorch(), error: null }, fits: { cpu: true, cuda: false } },
  'cuda 2.11 cu13.0': { discovery: { found: libtorch({ cudaVersion: '13.0' }), error: null }, fits: { cpu: true, cuda: true } },
  'cuda 2.11 cu13 (major only)': { discovery: { found: libtorch({ cudaVersion: '13' }), error: null }, fits: { cpu: true, cuda: true } },
  'cuda 2.11 cu12.8': { discovery: { found: libtorch({ cudaVersion: '12.8' }), error: null }, fits: { cpu: true, cuda: false } },
  'cuda 2.11.1 cu13.0 (patch release)': { discovery: { found: libtorch({ version: '2.11.1', cudaVersion: '13.0' }), error: null }, fits: { cpu: true, cuda: true } },
  'cuda 2.10 cu13.0': { discovery: { found: libtorch({ version: '2.10.0', cudaVersion: '13.0' }), error: null }, fits: { cpu: false, cuda: false } },
  'cpu 2.11 pre-C++11 ABI': { discovery: { found: libtorch({ cxx11Abi: 0 }), error: null }, fits: { cpu: false, cuda: false } },
  'cpu 2.11 Debian sonames': {
    discovery: { found: libtorch({ source: 'system', files: ['libtorch.so.2.11', 'libc10.so.2.11', 'libtorch_cpu.so.2.11'] }), error: null },
    fits: { cpu: false, cuda: false },
  },
};

function host(discovery: Discovery, over: Partial<HostFacts> = {}): HostFacts & { calls: number } {
  const h = {
    platform: 'linux-x64',
    glibc: '2.36',
    napi: 10,
    nvidiaDriver: '580.95.05' as string | null,
    calls: 0,
    libtorch() {
      h.calls += 1;
      return discovery;
    },
    ...over,
  };
  return h;
}

describe('choosing the addon binary', () => {
  it('follows the rule for every combination of request, builds, driver, LibTorch and glibc', () => {
    let combinations = 0;
    for (const request of ADDON_REQUESTS) {
      for (const source of [null, sourceBuild]) {
        for (const prebuilds of [[], [cpuPrebuild], [cudaPrebuild], [cudaPrebuild, cpuPrebuild]]) {
          for (const driver of [null, '580.95.05']) {
            for (const [torchName, torch] of Object.entries(TORCH)) {
              for (const glibc of ['2.36', '2.17']) {
                combinations++;
                const h = host(torch.discovery, { nvidiaDriver: driver, glibc });
                const choice = chooseAddon(request, source, prebuilds, h);
                const label = JSON.stringify({ request, source: !!source, prebuilds: prebuilds.map((p) => p.variant), driver, torchName, glibc });

                // The rule, stated independently of the implementation.
                const fits = (v: 'cpu' | 'cuda'): boolean => glibc === '2.36' && torch.fits[v] && (v === 'cpu' || driver !== null);
                const present = (v: 'cpu' | 'cuda'): boolean => prebuilds.some((p) => p.variant === v);
                let expected: string | null;
                if (request === 'source') expected = source ? 'source' : null;
                else if (request === 'cpu' || request === 'cuda') expected = present(request) ? request : null;
                else if (request === 'auto' && source) expected = 'source';
                else expected = present('cuda') && fits('cuda') ? 'cuda' : present('cpu') && fits('cpu') ? 'cpu' : null;

                assert.equal(choice.candidate?.variant ?? null, expected, label);
                assert.ok(choice.reason.length > 0, label);
                if (choice.candidate !== null) {
                  const forced = request === 'cpu' || request === 'cuda';
                  const v = choice.candidate.variant;
                  if (forced && v !== 'source') assert.equal(choice.problems.length === 0, fits(v), `forced misfits are reported: ${label}`);
                  else assert.deepEqual(choice.problems, [], label);
                } else {
                  // Every prebuild present was considered and each rejection says why and how to fix it.
                  if (request === 'auto' || request === 'prebuilt') {
                    assert.deepEqual(choice.rejected.map((r) => r.candidate.variant).sort(), prebuilds.map((p) => p.variant).sort(), label);
                  }
                  for (const r of choice.rejected) {
                    assert.ok(r.problems.length > 0, label);
                    for (const p of r.problems) assert.ok(p.message.length > 0 && p.fix.length > 0, label);
                  }
                }
                // A build from source needs no LibTorch discovery (which may start python).
                if (request === 'auto' && source) assert.equal(h.calls, 0, label);
              }
            }
          }
        }
      }
    }
    assert.equal(combinations, 5 * 2 * 4 * 2 * Object.keys(TORCH).length * 2);
  });

  it('names both LibTorch versions and the way to get the recorded one', () => {
    const [p] = prebuildProblems(cpuPrebuild, host(TORCH['cuda 2.10 cu13.0']!.discovery));
    assert.match(p!.message, /built against LibTorch 2\.11\.0, but LibTorch 2\.10\.0 found via LIBTORCH_USE_PYTORCH=1 at \/venv\/torch\/lib/);
    assert.match(p!.fix, /pip install 'torch==2\.11\.\*' and set LIBTORCH_USE_PYTORCH=1/);
    assert.match(p!.fix, /LIBTORCH=/);
    assert.match(p!.fix, /npm rebuild ichnet/);
  });

  it('names the CUDA versions and the wheel index of the recorded one', () => {
    const problems = prebuildProblems(cudaPrebuild, host(TORCH['cuda 2.11 cu12.8']!.discovery));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /built for CUDA 13\.0, but LibTorch 2\.11\.0 .* has CUDA 12\.8/);
    assert.match(problems[0]!.fix, /--index-url https:\/\/download\.pytorch\.org\/whl\/cu130/);
  });

  it('tells a CPU LibTorch, a missing driver, an old glibc and another ABI apart', () => {
    const cpuTorch = TORCH['cpu 2.11']!.discovery;
    const msgs = (c: AddonCandidate, h: HostFacts): string => prebuildProblems(c, h).map((p) => p.message).join(' | ');
    assert.match(msgs(cudaPrebuild, host(cpuTorch)), /is the CUDA variant, but LibTorch 2\.11\.0 .* is a CPU build/);
    assert.match(msgs(cudaPrebuild, host(TORCH['cuda 2.11 cu13.0']!.discovery, { nvidiaDriver: null })), /no NVIDIA driver/);
    assert.match(msgs(cpuPrebuild, host(cpuTorch, { glibc: '2.17' })), /needs glibc 2\.28 or newer, this system has glibc 2\.17/);
    assert.match(msgs(cpuPrebuild, host(cpuTorch, { glibc: null })), /not glibc/);
    assert.match(msgs(cpuPrebuild, host(TORCH['cpu 2.11 pre-C++11 ABI']!.discovery)), /built with the C\+\+11 ABI, but .* uses the pre-C\+\+11 ABI/);
    assert.match(msgs(cpuPrebuild, host(TORCH['cpu 2.11 Debian sonames']!.discovery)), /needs libtorch\.so, libc10\.so, libtorch_cpu\.so, which \/venv\/torch\/lib does not have/);
    assert.match(msgs(cpuPrebuild, host(cpuTorch, { platform: 'linux-arm64' })), /built for linux-x64, this machine is linux-arm64/);
    assert.match(msgs({ ...cpuPrebuild, manifest: null }, host(cpuTorch)), /no readable manifest/);
    assert.match(msgs(cpuPrebuild, host(TORCH.none!.discovery)), /no LibTorch found/);
  });

  it('says why the CPU prebuild was chosen over the CUDA one', () => {
    const choice = chooseAddon('auto', null, [cudaPrebuild, cpuPrebuild], host(TORCH['cuda 2.11 cu13.0']!.discovery, { nvidiaDriver: null }));
    assert.equal(choice.candidate?.variant, 'cpu');
    assert.match(choice.reason, /CPU prebuild .* fits: LibTorch 2\.11\.0 .*; not the CUDA prebuild: no NVIDIA driver/);
    const cuda = chooseAddon('auto', null, [cudaPrebuild, cpuPrebuild], host(TORCH['cuda 2.11 cu13.0']!.discovery));
    assert.match(cuda.reason, /CUDA prebuild .* fits: NVIDIA driver 580\.95\.05 and LibTorch 2\.11\.0 .* with CUDA 13\.0/);
  });
});
