/**
 * What discovery (scripts/libtorch.mjs) tells about a LibTorch distribution given by LIBTORCH: its
 * version, C++ ABI, and whether and with which CUDA it was built — the facts a prebuild records and
 * the loader matches. The distributions are laid out here from the system's LibTorch files, with a
 * libtorch_cuda.so that is a real ELF library needing libcudart.so.13.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { discovery, elf } from '../src/addon/scripts.js';
import { patchedCopy } from './helpers/package-copy.js';
import { tempDir } from './helpers/temp-dir.js';

const system = discovery.findLibTorch();

describe('LibTorch discovery', { skip: system === null ? 'no LibTorch found' : false }, () => {
  const sys = system!;
  const thin = readdirSync(sys.libDir).find((f) => /^libtorch\.so\.\d+\.\d+\.\d+$/.test(f));

  /** An unpacked "LibTorch zip": share/cmake/Torch, include/, lib/ (+ a CUDA library when cuda). */
  function distribution({ version = '2.11.0', abi = 1, cuda = false, buildVersion }: { version?: string; abi?: 0 | 1; cuda?: boolean; buildVersion?: string } = {}): string {
    const root = tempDir('ichnet-libtorch-');
    mkdirSync(join(root, 'share', 'cmake', 'Torch'), { recursive: true });
    const config = readFileSync(join(sys.cmakeDir, 'TorchConfig.cmake'), 'utf8').replace(/_GLIBCXX_USE_CXX11_ABI=\d/g, `_GLIBCXX_USE_CXX11_ABI=${abi}`);
    writeFileSync(join(root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), config);
    const inc = join(root, 'include', 'torch', 'csrc', 'api', 'include', 'torch');
    mkdirSync(inc, { recursive: true });
    const [major, minor, patch] = version.split('.');
    writeFileSync(join(inc, 'version.h'), `#pragma once\n#define TORCH_VERSION_MAJOR ${major}\n#define TORCH_VERSION_MINOR ${minor}\n#define TORCH_VERSION_PATCH ${patch}\n`);
    mkdirSync(join(root, 'lib'));
    symlinkSync(join(sys.libDir, thin!), join(root, 'lib', 'libtorch.so'));
    if (cuda) {
      // LibTorch's thin libtorch.so needs libtorch_cpu.so.<x.y>; renamed, it needs the CUDA 13 runtime.
      const needed = elf.readElf(join(sys.libDir, thin!)).needed.find((n) => n.startsWith('libtorch_cpu'))!;
      copyFileSync(patchedCopy(join(sys.libDir, thin!), needed, 'libcudart.so.13'), join(root, 'lib', 'libtorch_cuda.so'));
    }
    if (buildVersion) writeFileSync(join(root, 'build-version'), `${buildVersion}\n`);
    return root;
  }

  it('reads a CPU distribution: version from the headers, C++ ABI from TorchConfig.cmake, no CUDA', { skip: thin ? false : 'no versioned libtorch.so here' }, () => {
    const root = distribution({ abi: 0 });
    const found = discovery.findLibTorch({ LIBTORCH: root });
    assert.ok(found);
    assert.equal(found.source, 'LIBTORCH');
    assert.equal(found.libDir, join(root, 'lib'));
    assert.equal(found.version, '2.11.0');
    assert.equal(found.cxx11Abi, 0);
    assert.equal(found.cuda, false);
    assert.equal(found.cudaVersion, null);
  });

  it('reads the CUDA major from the libcudart that libtorch_cuda needs', { skip: thin ? false : 'no versioned libtorch.so here' }, () => {
    const found = discovery.findLibTorch({ LIBTORCH: distribution({ cuda: true }) });
    assert.equal(found?.cuda, true);
    assert.equal(found?.cudaVersion, '13');
  });

  it('prefers the full CUDA version of a zip\'s build-version tag', { skip: thin ? false : 'no versioned libtorch.so here' }, () => {
    assert.equal(discovery.findLibTorch({ LIBTORCH: distribution({ cuda: true, buildVersion: '2.11.0+cu130' }) })?.cudaVersion, '13.0');
    assert.equal(discovery.findLibTorch({ LIBTORCH: distribution({ cuda: true, buildVersion: '2.7.1+cu118' }) })?.cudaVersion, '11.8');
  });

  it('refuses a LIBTORCH that is not a distribution', () => {
    assert.throws(() => discovery.findLibTorch({ LIBTORCH: tempDir('ichnet-empty-') }), /no share\/cmake\/Torch\/TorchConfig\.cmake there/);
  });
});
