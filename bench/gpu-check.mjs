#!/usr/bin/env node
/**
 * `npm run gpu-check`: everything ichnet claims about NVIDIA GPUs, checked in one unattended run
 * (~6-9 minutes on a 16-core machine with an H100/H200), every result written to one file.
 *
 *   npm run gpu-check                         writes gpu-check-<UTC timestamp>.md in the checkout
 *   npm run gpu-check -- --out FILE           ... to FILE instead
 *   npm run gpu-check -- --quick-bench        `npm run bench -- --device cuda --quick` (faster; also
 *                                             chosen when less than 4 of the 9 minutes remain)
 *
 * Steps, in order (a failed step is recorded and the next one still runs, except that nothing
 * after a failed build can load the addon):
 *   1. facts: `nvidia-smi`, Python's torch / CUDA / cuDNN versions, Node, the git commit;
 *   2. build the addon from source against the Python's CUDA LibTorch (LIBTORCH_USE_PYTORCH=1, a
 *      fresh build/ so no CPU build's cache is reused) and compile the TypeScript;
 *   3. `test/gpu.test.ts` (the CUDA path against the CPU path of the same build);
 *   4. the full benchmark on the GPU: `bench/run.mjs --device cuda` (JSON saved beside the report);
 *   5. the prebuilt CUDA variant: `scripts/prebuild.mjs --no-build`, then `ichnet doctor --json`
 *      with `ICHNET_ADDON=cuda`, which must load that prebuilt binary.
 *
 * Needs, and installs nothing (it runs where no package registry is reachable):
 *   - an NVIDIA GPU with its driver (`nvidia-smi` works);
 *   - `python3` (or PYTHON=/path/to/python3) with a CUDA build of torch 2.x and, for the
 *     benchmark's reference and the tests' oracles, torchvision, opencv-python (cv2), pydicom, numpy;
 *   - Node ≥ 20 with its headers (`<prefix>/include/node/node.h`, as in the official tarballs),
 *     cmake ≥ 3.18 and a C++17 compiler;
 *   - this checkout with `node_modules` already installed (`npm ci` done where the registry is
 *     reachable, then the tree copied).
 * Exit code: 0 when every step passed, 1 otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const stamp = new Date().toISOString().replace(/[:]/g, '').replace(/\..*/, 'Z');
const outAt = argv.indexOf('--out');
const out = outAt >= 0 ? resolve(argv[outAt + 1] ?? '') : join(root, `gpu-check-${stamp}.md`);
const benchJson = out.replace(/\.md$/, '') + '.bench.json';
const python = process.env.PYTHON || 'python3';
const env = { ...process.env, LIBTORCH_USE_PYTORCH: '1', PYTHON: python, ICHNET_PYTHON: process.env.ICHNET_PYTHON || python };
const started = Date.now();
const BUDGET_S = 540;
const sections = [];
let failed = 0;

/** Runs one step, records its command, exit code, time and output tail, and rewrites the report. */
function step(title, command, args, { timeoutS = 300, extraEnv = {}, keep = 8000 } = {}) {
  const t0 = Date.now();
  const r = spawnSync(command, args, { cwd: root, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 256 << 20 });
  const seconds = (Date.now() - t0) / 1000;
  const code = r.error?.code === 'ETIMEDOUT' ? `timed out after ${timeoutS} s` : r.status ?? `signal ${r.signal}`;
  const ok = r.status === 0;
  if (!ok) failed++;
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error && r.error.code !== 'ETIMEDOUT' ? `\n${r.error.message}` : ''}`;
  const tail = output.length > keep ? `[… ${output.length - keep} characters cut]\n${output.slice(-keep)}` : output;
  sections.push(`## ${title}: ${ok ? 'passed' : 'FAILED'}\n\n\`${[command, ...args].join(' ')}\` — exit ${code}, ${seconds.toFixed(1)} s\n\n\`\`\`\n${tail.trim()}\n\`\`\`\n`);
  write();
  console.error(`gpu-check: ${title}: ${ok ? 'passed' : 'FAILED'} (${seconds.toFixed(1)} s)`);
  return { ok, stdout: r.stdout ?? '' };
}

function write() {
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  const head = `# ichnet GPU check, ${new Date(started).toISOString()}\n\n${failed === 0 ? 'All steps so far passed' : `${failed} step(s) failed`}; ${minutes} min so far.\n`;
  writeFileSync(out, [head, ...sections].join('\n'));
}

const node = process.execPath;
step('GPU and driver', 'nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv'], { timeoutS: 30 });
step('Python torch', python, ['-c', 'import torch, sys; print(sys.version.split()[0], torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'], { timeoutS: 60 });
step('Source', 'git', ['log', '-1', '--format=%H %cd'], { timeoutS: 10 });

rmSync(join(root, 'build'), { recursive: true, force: true });
const built = step('Build the addon against the CUDA LibTorch', node, ['scripts/build-native.mjs'], { timeoutS: 240 }).ok;
const compiled = step('Compile the TypeScript', node, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { timeoutS: 120 }).ok;
if (built && compiled) {
  step('test/gpu.test.ts', node, ['--test', '--test-concurrency=1', 'dist/test/gpu.test.js'], { timeoutS: 180 });
  // The whole check must end within 9 minutes: the benchmark gets what is left after a minute kept
  // for the prebuild and doctor steps, and falls back to --quick when less than 4 minutes remain.
  const left = Math.floor(BUDGET_S - (Date.now() - started) / 1000 - 60);
  const quick = argv.includes('--quick-bench') || left < 240;
  // Every section, those a GPU changes most first, so that a run cut short by the time limit loses
  // the host-side ones (their JSON is saved after each section).
  const order = 'train,infer,e2e,ddp,predict,data,prep-device,loader-workers,loader-memory';
  step(`Benchmark on the GPU${quick ? ' (--quick)' : ''}`, node, ['bench/run.mjs', '--device', 'cuda', '--only', order, '--save', benchJson, ...(quick ? ['--quick'] : [])], { timeoutS: Math.max(60, left), keep: 16000 });
  const pre = step('Prebuilt CUDA variant', node, ['scripts/prebuild.mjs', '--no-build'], { timeoutS: 60 });
  if (pre.ok) {
    const doctor = step('ichnet doctor with the CUDA prebuild', node, ['dist/src/cli/main.js', 'doctor', '--json'], { timeoutS: 60, extraEnv: { ICHNET_ADDON: 'cuda' } });
    if (doctor.ok) {
      // Exit 0 only says the addon loaded: it must be the CUDA prebuild, and it must see the GPU.
      let report;
      try {
        report = JSON.parse(doctor.stdout);
      } catch {
        report = undefined;
      }
      const problems = [];
      if (report?.addon?.variant !== 'cuda') problems.push(`loaded variant ${report?.addon?.variant}, not the CUDA prebuild`);
      if (report?.cudaAvailable !== true) problems.push('CUDA not available to the prebuild');
      if (problems.length > 0) failed++;
      sections.push(`Doctor check: ${problems.length === 0 ? 'the CUDA prebuild loaded and sees the GPU' : `FAILED: ${problems.join('; ')}`}\n`);
    }
  }
}
if (existsSync(benchJson)) sections.push(`Benchmark JSON: \`${benchJson}\`\n`);
write();
console.error(`gpu-check: ${failed === 0 ? 'all steps passed' : `${failed} step(s) failed`}; report in ${out}`);
process.exit(failed === 0 ? 0 : 1);
