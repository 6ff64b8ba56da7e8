#!/usr/bin/env node
/**
 * `npm run bench`: ichnet against a PyTorch (Python) reference doing the same work on this machine,
 * measured in the same run, printed as one table (see docs/BENCHMARKS.md).
 *
 *   npm run bench                       the full run (~4 minutes on 2 idle cores, ~7 busy)
 *   npm run bench -- --quick            fewer repetitions, for development
 *   npm run bench -- --only data,train  sections, run in the order named: data, train, infer, e2e, predict,
 *                                       loader-memory, loader-workers, prep-device, ddp
 *   npm run bench -- --json             JSON on stdout instead of the table
 *   npm run bench -- --save FILE        also write the JSON results to FILE
 *   options: --verbose (children's output on stderr), --data-dir DIR (synthetic sets, default
 *   $TMPDIR/ichnet-bench-data, reused between runs), --fresh-data, --threads N (default: all cores),
 *   --no-overlap (e2e: ichnet's Trainer with train.overlap false, each step preparing its own batch),
 *   --nchw (CPU: both sides in NCHW instead of channels_last), --device cpu|cuda (default cpu; cuda: both sides train and infer on the GPU with bf16 autocast,
 *   channels_last, cuDNN benchmark, pinned host memory, and the seed row is also reported against
 *   the GPU's measured bf16 matrix rate), --precision default|auto|fp32|bf16 (what both sides'
 *   model, inference, end-to-end, predict and ddp rows compute in; default: bf16 autocast on CUDA,
 *   fp32 on the CPU; auto: as ichnet's `precision: auto` and the quickstart preset, bf16 autocast
 *   also on CPUs with native bf16 (AVX-512 BF16 or AMX)), --omp-wait both|passive|default (OMP_WAIT_POLICY of the
 *   reference's processes in the model, inference and end-to-end rows; default both: the reference
 *   runs each of those rows with OMP_WAIT_POLICY=PASSIVE and without it, and its faster result is
 *   the denominator — libgomp's spin-wait is faster on idle cores and 2–3× slower while anything
 *   else keeps a core busy, see docs/BENCHMARKS.md; ichnet and the other rows' reference run with
 *   it unset, as ichnet does by default, unless --omp-wait passive), --ref-malloc same|default (the glibc malloc settings of every
 *   reference process; default same: the ones ichnet's addon applies to its own process, read from
 *   runtimeInfo().mallocTuning and passed as MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ and
 *   MALLOC_TOP_PAD_, so that the rows do not measure glibc's defaults against ichnet's settings;
 *   default: glibc's defaults, as a plain Python process has them)
 *
 * Two rows compare ichnet with itself: the loader alone with N decode workers against 1
 * (loader-workers), and device-side preprocessing on the CPU device against the host pipeline
 * (prep-device).
 *
 * Both sides run as long-lived child processes (node bench/ichnet.mjs serve, python
 * bench/reference.py serve) that receive one command per repetition (the model rows: STEADY below); repetitions alternate
 * between the two (ABBA…), after separate warm-ups, so a change in machine load hits both.
 * The interpreter is ICHNET_PYTHON or /usr/bin/python3 (Debian's, with torch).
 */
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cpuHasNativeBf16 } from '../dist/src/addon/host.js';
import { runtimeInfo } from '../dist/src/session/runtime.js';
import { busyThreads, loadAverage, processTree, runOneShot, startWorker, summary, threadCpu, treeCpuSeconds } from './lib.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SECTIONS = ['data', 'train', 'infer', 'e2e', 'predict', 'loader-memory', 'loader-workers', 'prep-device', 'ddp'];

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = { quick: false, json: false, verbose: false, only: SECTIONS, dataDir: join(tmpdir(), 'ichnet-bench-data'), freshData: false, threads: availableParallelism(), ompWait: 'both', refMalloc: 'same', device: 'cpu', precision: 'default' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = true;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--fresh-data') o.freshData = true;
    else if (a === '--nchw') o.nchw = true;
    else if (a === '--no-overlap') o.noOverlap = true;
    else if (a.startsWith('--only')) {
      o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = o.only.filter((s) => !SECTIONS.includes(s));
      if (bad.length) usage(`unknown section(s) ${bad.join(', ')}; sections: ${SECTIONS.join(', ')}`);
    } else if (a.startsWith('--data-dir')) o.dataDir = resolve(value());
    else if (a.startsWith('--save')) o.save = resolve(value());
    else if (a.startsWith('--threads')) o.threads = Number(value());
    else if (a.startsWith('--device')) {
      o.device = value();
      if (!['cpu', 'cuda'].includes(o.device)) usage('--device must be cpu or cuda');
    }
    else if (a.startsWith('--precision')) {
      o.precision = value();
      if (!['default', 'auto', 'fp32', 'bf16'].includes(o.precision)) usage('--precision must be default, auto, fp32 or bf16');
    }
    else if (a.startsWith('--omp-wait')) {
      o.ompWait = value();
      if (!['both', 'passive', 'default'].includes(o.ompWait)) usage('--omp-wait must be both, passive or default');
    } else if (a.startsWith('--ref-malloc')) {
      o.refMalloc = value();
      if (!['same', 'default'].includes(o.refMalloc)) usage('--ref-malloc must be same or default');
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option ${a}`);
  }
  if (!(Number.isInteger(o.threads) && o.threads >= 1)) usage('--threads must be a positive integer');
  return o;
}

function usage(error) {
  const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const text = source.slice(source.indexOf('/**') + 3, source.indexOf('*/')).split('\n').map((l) => l.replace(/^ \* ?/, '')).join('\n').trim();
  if (error) console.error(`bench: ${error}\n`);
  console.error(text);
  process.exit(error ? 2 : 0);
}

const opts = parseArgs(process.argv.slice(2));
const log = (line) => console.error(line);
const childLog = opts.verbose ? (line) => console.error(`    | ${line}`) : () => {};
const python = onPath(process.env.ICHNET_PYTHON ?? '/usr/bin/python3');

/** A bare command name (`python3`) as the file PATH gives it; a path, or a name PATH lacks, unchanged. */
function onPath(command) {
  if (command.includes('/')) return command;
  const found = (process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => join(dir, command)).find((file) => existsSync(file));
  return found ?? command;
}
/** A child's environment under one OMP_WAIT_POLICY setting: 'passive' sets PASSIVE, 'default' unsets it. */
function envFor(policy) {
  const env = { ...process.env };
  if (policy === 'passive') env.OMP_WAIT_POLICY = 'PASSIVE';
  else delete env.OMP_WAIT_POLICY;
  return env;
}
/**
 * glibc's environment names for the malloc settings ichnet's addon applies to its own process
 * (native/binding/malloc_tuning.h), with its values; empty with --ref-malloc default or when the
 * addon applied none (ICHNET_MALLOC_TUNING=0, not glibc).
 */
function mallocEnv() {
  const tuning = runtimeInfo().mallocTuning;
  if (opts.refMalloc === 'default' || tuning === null) return {};
  return { MALLOC_MMAP_THRESHOLD_: String(tuning.mmapThresholdBytes), MALLOC_TRIM_THRESHOLD_: String(tuning.trimThresholdBytes), MALLOC_TOP_PAD_: String(tuning.topPadBytes) };
}
const REF_MALLOC = mallocEnv();
/**
 * OpenBLAS's thread count in ichnet's process (its addon sets 1, native/binding/blas_threads.h):
 * the reference's PyTorch links the same OpenBLAS, and gets the same count from the environment.
 */
const BLAS_THREADS = runtimeInfo().blasThreads;
const REF_BLAS = BLAS_THREADS === null ? {} : { OPENBLAS_NUM_THREADS: String(BLAS_THREADS) };
/** A reference process's environment: `policy`'s OMP_WAIT_POLICY, ichnet's malloc settings (--ref-malloc) and OpenBLAS thread count. */
function refEnvFor(policy) {
  return { ...envFor(policy), ...REF_MALLOC, ...REF_BLAS };
}
/** ichnet's processes: OMP_WAIT_POLICY unset, as ichnet runs by default, unless --omp-wait passive. */
const childEnv = envFor(opts.ompWait === 'passive' ? 'passive' : 'default');
/** The data row's and the predict and ddp rows' reference: as ichnet's processes. */
const refEnv = refEnvFor(opts.ompWait === 'passive' ? 'passive' : 'default');
/** The settings the reference runs the model, inference and end-to-end rows under; its faster result counts. */
const REF_POLICIES = opts.ompWait === 'both' ? ['passive', 'default'] : [opts.ompWait];
const node = process.execPath;
const T = opts.threads;
const GPU = opts.device === 'cuda';
/** The device settings both sides get: PyTorch's standard fast recipe on CUDA. */
// channels_last on the CPU too: ichnet's default, and what PyTorch's CPU tuning advice recommends for CNNs.
// Both sides compute in the same precision: bf16 autocast counts only when the reference has it too.
const PRECISION = { default: GPU ? 'bf16' : 'fp32', auto: GPU || cpuHasNativeBf16() ? 'bf16' : 'fp32' }[opts.precision] ?? opts.precision;
const DEVICE = GPU ? { device: 'cuda', precision: PRECISION, channelsLast: true } : { device: 'cpu', precision: PRECISION, channelsLast: !opts.nchw };
/** FLOP of one VGG16 training step (forward + backward) on one 224² slice; forward is ~31 GFLOP. */
const VGG16_TRAIN_FLOP = 92e9;

/** Repetitions: [warm-up, measured] per row; the ddp rows' measured steps are split over [2] rounds of jobs. */
const REPS = opts.quick
  ? { data: [1, 2], trainQuick: [2, 4], trainSeed: [GPU ? 3 : 1, GPU ? 5 : 2], infer: [2, 5], e2e: 1, loaderWorkers: 2, prepDevice: 3, ddp: [2, 4, 1] }
  : { data: [1, 5], trainQuick: [3, 25], trainSeed: [GPU ? 5 : 1, GPU ? 15 : 5], infer: [3, 40], e2e: 3, loaderWorkers: 4, prepDevice: 8, ddp: [3, 104, 8] };

/**
 * What one repetition of a model row runs on a side: `settle` untimed steps, then `steps` timed back
 * to back. The first step after another process had the cores is ~25 % slower on both sides (caches,
 * the OpenMP team waking); a training loop never takes it, so it is left out of the time. The CPU
 * seed step (seconds long) runs alone.
 */
const STEADY = { settle: 1, steps: 3 };
const ONE_STEP = { settle: 0, steps: 1 };

/** Epochs each loader-workers run times together, after its warm-up epoch (bench/ichnet.mjs says why). */
const LOADER_EPOCHS = opts.quick ? 2 : 5;

/** Synthetic sets, generated once into the data dir and reused by both sides (and later runs). */
const SETS = {
  // data pipeline rows (first patients) and the loader-memory line (all of it)
  dicom512: { patients: 48, size: 512, slices: [24, 24], seed: 1 },
  // end to end
  dicom128: { patients: 40, size: 128, slices: [24, 24], seed: 2 },
  // `ichnet predict` on a folder of studies
  studies100: { patients: 100, size: 128, slices: [24, 24], seed: 3 },
};
const DATA_PATIENTS = opts.quick ? 8 : 16;

const QUICKSTART = { backbone: 'vgg16_bn', width: 0.25, input_size: 96, label_rnn: 'lstm', label_hidden: 32, slice_rnn: 'gru', slice_hidden: 32 };
const SEED_MODEL = { backbone: 'vgg16', width: 1, input_size: 224, label_rnn: 'lstm', label_hidden: 256, slice_rnn: 'gru', slice_hidden: 256 };

// ---------------------------------------------------------------- helpers
const fmt = (v, digits = 3) => {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  return Number(v.toPrecision(digits)).toString();
};
const spread = (s) => `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]`;

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  let gpu = 'none';
  try {
    gpu = execSync('nvidia-smi -L', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || 'none';
  } catch {
    /* no NVIDIA driver */
  }
  const mem = /^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return {
    cpu: model,
    cores: availableParallelism(),
    simd: ['avx512f', 'avx512_bf16', 'avx2', 'fma'].filter((f) => flags.split(' ').includes(f)),
    memoryGiB: mem ? Number((Number(mem) / 2 ** 20).toFixed(1)) : undefined,
    gpu,
    date: execSync('date').toString().trim(),
    kernel: execSync('uname -r').toString().trim(),
  };
}

const ready = new Map();
/** The synthetic set's directory, generated on first use in this run (or reused from an earlier one). */
function ensureSet(name) {
  if (!ready.has(name)) ready.set(name, generateSet(name));
  return ready.get(name);
}

async function generateSet(name) {
  const spec = SETS[name];
  const dir = join(opts.dataDir, `${name}-p${spec.patients}-s${spec.slices.join('_')}-seed${spec.seed}`);
  const marker = join(dir, '.bench-complete');
  const wanted = JSON.stringify(spec);
  if (!opts.freshData && existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return dir;
  await rm(dir, { recursive: true, force: true });
  log(`  generating ${name}: ${spec.patients} patients × ${spec.slices[0]} slices, ${spec.size}², DICOM → ${dir}`);
  const { result } = await runOneShot(node, [join(root, 'bench/ichnet.mjs'), 'synth', JSON.stringify({ out: dir, ...spec })], { log: childLog });
  log(`  ${result.slices} slices in ${result.seconds.toFixed(1)} s`);
  writeFileSync(marker, wanted);
  return dir;
}

/**
 * ichnet's worker and one reference worker per OMP_WAIT_POLICY setting (`policies`; sides named
 * `torch:<policy>`); callRefs sends setup commands to all of them.
 */
function startPair(policies = [opts.ompWait === 'passive' ? 'passive' : 'default']) {
  const ichnet = startWorker(node, [join(root, 'bench/ichnet.mjs'), 'serve'], { log: childLog, cwd: root, env: childEnv });
  const refs = Object.fromEntries(policies.map((p) => [`torch:${p}`, startWorker(python, [join(root, 'bench/reference.py'), 'serve'], { log: childLog, cwd: root, env: refEnvFor(p) })]));
  const all = [ichnet, ...Object.values(refs)];
  return { ichnet, refs, sides: ['ichnet', ...Object.keys(refs)], worker: (side) => (side === 'ichnet' ? ichnet : refs[side]), close: () => Promise.all(all.map((w) => w.close())) };
}

/** Calls `cmd` on every reference worker; returns the first one's result. */
async function callRefs(pair, cmd, params) {
  const out = await Promise.all(Object.values(pair.refs).map((w) => w.call(cmd, params)));
  return out[0];
}

/** Per-thread (and per-process, for DataLoader workers) CPU snapshots of a worker's tree. */
function snapshotThreads(pid) {
  return Object.fromEntries(processTree(pid).map((p) => [p, threadCpu(p)]));
}
function threadReport(before, after) {
  return Object.entries(after).map(([pid, threads]) => ({ pid: Number(pid), ...busyThreads(before[pid] ?? {}, threads) }));
}

/**
 * Warm-ups on each side, then `reps` rounds of `cmd` in which every side runs once, in an order
 * that alternates (ichnet first, then last, …). Each repetition reports { seconds, slices }; we keep
 * slices/s and the cores the side's process tree kept busy. With several reference settings, the
 * one with the higher median is the reference ("torch"); every setting's numbers are kept.
 */
async function paired(pair, cmd, paramsFor, [warmup, reps]) {
  for (let w = 0; w < warmup; w++) for (const side of pair.sides) await pair.worker(side).call(cmd, paramsFor(w));
  const sides = Object.fromEntries(pair.sides.map((side) => [side, { rate: [], cores: [], seconds: [] }]));
  const threadsBefore = Object.fromEntries(pair.sides.map((side) => [side, snapshotThreads(pair.worker(side).pid)]));
  const rounds = [];
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? pair.sides : [...pair.sides].reverse();
    const rates = {};
    for (const side of order) {
      const w = pair.worker(side);
      const cpu0 = treeCpuSeconds(w.pid);
      const t0 = performance.now();
      const res = await w.call(cmd, paramsFor(warmup + r));
      const wall = (performance.now() - t0) / 1000;
      const cpu = treeCpuSeconds(w.pid) - cpu0;
      rates[side] = res.slices / res.seconds;
      sides[side].rate.push(rates[side]);
      sides[side].seconds.push(res.seconds);
      sides[side].cores.push(cpu / wall);
    }
    rounds.push(rates);
  }
  const result = (side) => ({ slicesPerSecond: summary(sides[side].rate), secondsPerRep: summary(sides[side].seconds), coresBusy: summary(sides[side].cores) });
  const refs = pair.sides.filter((side) => side !== 'ichnet');
  const best = refs.reduce((a, b) => (summary(sides[b].rate).median > summary(sides[a].rate).median ? b : a));
  return {
    ichnet: result('ichnet'),
    torch: result(best),
    torchSetting: best.slice('torch:'.length),
    torchBySetting: Object.fromEntries(refs.map((side) => [side.slice('torch:'.length), result(side)])),
    pairedRatio: summary(rounds.map((rates) => rates.ichnet / rates[best])),
    threadUse: { ichnet: threadReport(threadsBefore.ichnet, snapshotThreads(pair.ichnet.pid)), torch: threadReport(threadsBefore[best], snapshotThreads(pair.worker(best).pid)) },
  };
}

// ---------------------------------------------------------------- sections
const results = { machine: machine(), options: { quick: opts.quick, only: opts.only, threads: T, ompWait: opts.ompWait, refMalloc: REF_MALLOC, device: opts.device, precision: PRECISION, channelsLast: Boolean(DEVICE.channelsLast), overlap: !opts.noOverlap }, load: { start: loadAverage() }, versions: {}, sections: {}, rows: [], selfRows: [] };

async function versions() {
  const pair = startPair();
  try {
    const [ich, py] = await Promise.all([pair.ichnet.call('info'), callRefs(pair, 'info', DEVICE)]);
    if (GPU) results.ceiling = await callRefs(pair, 'ceiling');
    results.versions = { libtorch: ich.torchVersion, ichnetThreads: ich.threads, node: ich.node, ...Object.fromEntries(Object.entries(py).map(([k, v]) => [k === 'threads' ? 'pytorchDefaultThreads' : k, v])) };
  } finally {
    await pair.close();
  }
}

async function sectionData() {
  const dir = await ensureSet('dicom512');
  const pair = startPair();
  try {
    const setup = { root: dir, patients: DATA_PATIENTS, inputSize: 224, patientsPerBatch: 2, maxSlices: 24, seed: 3 };
    const [a, b] = await Promise.all([pair.ichnet.call('data-setup', { ...setup, threads: T }), callRefs(pair, 'data-setup', { ...setup, workers: T })]);
    if (a.slices !== b.slices) log(`  warning: ichnet sees ${a.slices} slices, PyTorch ${b.slices}`);
    const r = await paired(pair, 'data-rep', (i) => ({ epoch: i }), REPS.data);
    results.sections.data = { ...r, slicesPerRep: a.slices };
    results.rows.push({
      key: 'data',
      label: `data pipeline: DICOM 512² → 224² (decode, 3 windows, CLAHE, flip/rotate/scale, jitter), ${a.slices} slices/rep`,
      unit: 'slices/s',
      ichnet: r.ichnet.slicesPerSecond,
      torch: r.torch.slicesPerSecond,
      ratio: r.pairedRatio,
      ratioOfMedians: r.ichnet.slicesPerSecond.median / r.torch.slicesPerSecond.median,
    });
  } finally {
    await pair.close();
  }
}

async function sectionModel(kind) {
  const shapes = {
    trainQuick: { model: QUICKSTART, optim: { name: 'adam', lr: 1e-3 }, patients: 2, slices: 24, cmd: 'train-rep', rep: STEADY, label: 'train step, quickstart (vgg16_bn ×¼, 96², LSTM 32 → GRU 32), 2 × 24 slices' },
    trainSeed: GPU
      ? { model: SEED_MODEL, optim: { name: 'adam', lr: 1e-4 }, patients: 4, slices: 24, cmd: 'train-rep', rep: STEADY, label: 'train step, seed (VGG16, 224², LSTM 256 → GRU 256), 4 × 24 slices' }
      : { model: SEED_MODEL, optim: { name: 'adam', lr: 1e-4 }, patients: 1, slices: 8, cmd: 'train-rep', rep: ONE_STEP, label: 'train step, seed (VGG16, 224², LSTM 256 → GRU 256), 1 × 8 slices' },
    infer: { model: QUICKSTART, optim: { name: 'adam', lr: 1e-3 }, patients: 2, slices: 24, cmd: 'infer-rep', rep: STEADY, label: 'inference, quickstart model, 2 × 24 slices' },
  };
  const s = shapes[kind];
  const pair = startPair(REF_POLICIES);
  try {
    const setup = { model: s.model, optim: s.optim, patients: s.patients, slices: s.slices, threads: T, seed: 0, ...DEVICE };
    const [a, b] = await Promise.all([pair.ichnet.call('model-setup', setup), callRefs(pair, 'model-setup', setup)]);
    if (a.info.parameters !== b.parameters) log(`  warning: parameter counts differ: ichnet ${a.info.parameters}, PyTorch ${b.parameters}`);
    const r = await paired(pair, s.cmd, () => s.rep, REPS[kind]);
    results.sections[kind] = { ...r, parameters: { ichnet: a.info.parameters, torch: b.parameters }, threads: { ichnet: a.info.threads, torch: b.threads } };
    results.rows.push({ key: kind, label: s.label, unit: 'slices/s', ichnet: r.ichnet.slicesPerSecond, torch: r.torch.slicesPerSecond, torchSetting: r.torchSetting, ratio: r.pairedRatio, ratioOfMedians: r.ichnet.slicesPerSecond.median / r.torch.slicesPerSecond.median });
  } finally {
    await pair.close();
  }
}

async function sectionE2e() {
  const dir = await ensureSet('dicom128');
  const params = { root: dir, model: QUICKSTART, validation: 0.1, threads: T, workers: T, seed: 0, overlap: !opts.noOverlap, ...DEVICE };
  const sides = ['ichnet', ...REF_POLICIES.map((p) => `torch:${p}`)];
  const runs = Object.fromEntries(sides.map((side) => [side, []]));
  const memory = Object.fromEntries(sides.map((side) => [side, []]));
  const runSide = (side, sampleMs) => {
    const policy = side.slice('torch:'.length);
    const [cmd, args, env] = side === 'ichnet' ? [node, [join(root, 'bench/ichnet.mjs'), 'e2e', JSON.stringify(params)], childEnv] : [python, [join(root, 'bench/reference.py'), 'e2e', JSON.stringify(params)], refEnvFor(policy)];
    return runOneShot(cmd, args, { log: childLog, env, sampleMs });
  };
  // Timed runs are not sampled: reading a process tree's smaps_rollup every 100 ms walks its page
  // tables under the memory-map lock and slowed both sides' epochs by 10-50 % (docs/BENCHMARKS.md).
  for (let r = 0; r < REPS.e2e; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const run = await runSide(side, 0);
      runs[side].push({ ...run.result, wallSeconds: run.wallSeconds });
      log(`    ${side}: train ${run.result.trainSeconds.toFixed(1)} s, process ${run.wallSeconds.toFixed(1)} s`);
    }
  }
  // Peak memory from as many more runs of each side, sampled (their times are not used).
  for (let r = 0; r < REPS.e2e; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      const run = await runSide(side, 100);
      memory[side].push({ peakPssBytes: run.peak.pss, peakRssBytes: run.peak.rss, processes: run.peak.processes });
      log(`    ${side}: peak PSS ${(run.peak.pss / 2 ** 20).toFixed(0)} MiB (a sampled run)`);
    }
  }
  const slices = runs.ichnet[0].slices;
  for (const side of sides.slice(1)) if (slices !== runs[side][0].slices) log(`  warning: ichnet trained on ${slices} slices, ${side} on ${runs[side][0].slices}`);
  results.sections.e2e = { runs, memory };
  // Lower is better in every e2e row: the reference's setting with the lower median counts.
  const row = (key, label, unit, f, of = runs) => {
    const pick = (side) => summary(of[side].map(f));
    const best = sides.slice(1).reduce((a, b) => (pick(b).median < pick(a).median ? b : a));
    const ratio = summary(of.ichnet.map((x, i) => f(of[best][i]) / f(x)));
    return { key, label, unit, ichnet: pick('ichnet'), torch: pick(best), torchSetting: best.slice('torch:'.length), ratio, ratioOfMedians: pick(best).median / pick('ichnet').median, inverse: true };
  };
  results.rows.push(row('e2e-train', `end to end: 1 training epoch, ${slices} slices of 128² DICOM → 96², quickstart, aug + CLAHE — wall (PyTorch ÷ ichnet)`, 's', (x) => x.trainSeconds));
  results.rows.push(row('e2e-process', 'end to end: whole process, start → exit (ichnet Trainer also writes both checkpoints, predictions.csv and report.html with Grad-CAM samples) — wall (PyTorch ÷ ichnet)', 's', (x) => x.wallSeconds));
  results.rows.push(row('e2e-memory', 'end to end: peak memory, PSS summed over the process tree (PyTorch ÷ ichnet)', 'MiB', (x) => x.peakPssBytes / 2 ** 20, memory));
}

/**
 * `ichnet predict` (in its own process, as the command line runs it) against a compact PyTorch
 * prediction script, both on the same 100 studies with the same untrained quickstart-shaped weights
 * (speed does not depend on training): studies per second over the whole process.
 */
async function sectionPredict() {
  const dir = await ensureSet('studies100');
  const work = await mkdtemp(join(tmpdir(), 'ichnet-bench-predict-'));
  try {
    const ckpt = join(work, 'checkpoint');
    const made = await runOneShot(node, [join(root, 'bench/ichnet.mjs'), 'checkpoint', JSON.stringify({ dir: ckpt, model: QUICKSTART, threads: T, channelsLast: DEVICE.channelsLast, precision: DEVICE.precision })], { log: childLog, env: childEnv });
    const params = { root: dir, checkpoint: ckpt, weights: made.result.weights, model: QUICKSTART, threads: T, workers: T, ...DEVICE };
    const runs = { ichnet: [], torch: [] };
    for (let r = 0; r < REPS.e2e; r++) {
      const order = r % 2 === 0 ? ['ichnet', 'torch'] : ['torch', 'ichnet'];
      for (const side of order) {
        const p = { ...params, out: join(work, `${side}-${r}.csv`) };
        const [cmd, args, env] = side === 'ichnet' ? [node, [join(root, 'bench/ichnet.mjs'), 'predict', JSON.stringify(p)], childEnv] : [python, [join(root, 'bench/reference.py'), 'predict', JSON.stringify(p)], refEnv];
        const run = await runOneShot(cmd, args, { log: childLog, env, sampleMs: 0 }); // unsampled, as the e2e runs
        const studiesPerSecond = run.result.studies / run.wallSeconds;
        runs[side].push({ ...run.result, wallSeconds: run.wallSeconds, studiesPerSecond });
        log(`    ${side}: ${run.result.studies} studies, ${run.result.slices} slices, process ${run.wallSeconds.toFixed(1)} s → ${studiesPerSecond.toFixed(2)} studies/s`);
      }
    }
    if (runs.ichnet[0].slices !== runs.torch[0].slices) log(`  warning: ichnet predicted ${runs.ichnet[0].slices} slices, PyTorch ${runs.torch[0].slices}`);
    results.sections.predict = { runs };
    const f = (x) => x.studiesPerSecond;
    const pick = (side) => summary(runs[side].map(f));
    results.rows.push({
      key: 'predict',
      label: `ichnet predict: ${runs.ichnet[0].studies} studies × 24 slices of 128² DICOM → 96², quickstart, CLAHE, per-slice CSV — whole process`,
      unit: 'studies/s',
      ichnet: pick('ichnet'),
      torch: pick('torch'),
      ratio: summary(runs.ichnet.map((x, i) => f(x) / f(runs.torch[i]))),
      ratioOfMedians: pick('ichnet').median / pick('torch').median,
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function sectionLoaderMemory() {
  const dir = await ensureSet('dicom512');
  const { result, wallSeconds } = await runOneShot(node, [join(root, 'bench/ichnet.mjs'), 'loader-memory', JSON.stringify({ root: dir, patientsPerBatch: 2, maxSlices: 24, seed: 4 })], { log: childLog, env: childEnv });
  results.sections['loader-memory'] = { ...result, wallSeconds };
}

/**
 * ichnet against itself: the loader alone (DICOM 512² → batches, no model, no preprocessing) with
 * T decode workers against 1, each run in a fresh process, alternating. Also records the main
 * thread's busy time per slice against a worker's. Unsampled, as the e2e runs: the memory sampler's
 * page-table walks took CPU and the memory-map lock from the T-worker runs (which use every core)
 * and not from the 1-worker runs (which leave a core spare), lowering the ratio by ~0.15.
 */
async function sectionLoaderWorkers() {
  const dir = await ensureSet('dicom512');
  const counts = [T, 1];
  const runs = Object.fromEntries(counts.map((n) => [n, []]));
  for (let r = 0; r < REPS.loaderWorkers; r++) {
    for (const workers of r % 2 === 0 ? counts : [...counts].reverse()) {
      const { result } = await runOneShot(node, [join(root, 'bench/ichnet.mjs'), 'loader-workers', JSON.stringify({ root: dir, workers, patientsPerBatch: 2, maxSlices: 24, seed: 4, epochs: LOADER_EPOCHS })], { log: childLog, env: childEnv, sampleMs: 0 });
      runs[workers].push(result);
      log(`    ${workers} worker(s): ${result.slicesPerSecond.toFixed(0)} slices/s; per slice: main thread CPU ${result.mainCpuMsPerSlice.toFixed(2)} ms, other threads CPU ${result.otherThreadsCpuMsPerSlice.toFixed(2)} ms`);
    }
  }
  const rate = (n) => summary(runs[n].map((x) => x.slicesPerSecond));
  results.sections['loader-workers'] = { runs };
  results.selfRows.push({
    key: 'loader-workers',
    label: `loader alone: DICOM 512² → batches (decode, HU, batching; no model), ${T} decode workers ÷ 1`,
    unit: 'slices/s',
    a: rate(T),
    b: rate(1),
    ratio: summary(runs[T].map((x, i) => x.slicesPerSecond / runs[1][i].slicesPerSecond)),
    ratioOfMedians: rate(T).median / rate(1).median,
    note:
      `per slice with ${T} workers, main thread ÷ decoding: CPU time ${fmt(summary(runs[T].map((x) => x.mainCpuMsPerSlice)).median)} ÷ ${fmt(summary(runs[T].map((x) => x.otherThreadsCpuMsPerSlice)).median)} ms (other threads) = ` +
      `${fmt(summary(runs[T].map((x) => x.mainCpuMsPerSlice / x.otherThreadsCpuMsPerSlice)).median)}; busy wall time (event loop ÷ inside readSlice) ${fmt(summary(runs[T].map((x) => x.mainBusyMsPerSlice / x.workerBusyMsPerSlice)).median)}`,
  });
}

/** ichnet against itself: one 2 × 24-slice batch of 512² DICOM preprocessed to 224² on the CPU device (prep.where: device) ÷ the host pipeline. */
async function sectionPrepDevice() {
  const dir = await ensureSet('dicom512');
  const w = startWorker(node, [join(root, 'bench/ichnet.mjs'), 'serve'], { log: childLog, cwd: root, env: childEnv });
  try {
    await w.call('prep-setup', { root: dir, patients: 2, inputSize: 224, patientsPerBatch: 2, maxSlices: 24, threads: T, seed: 3 });
    const wheres = ['device', 'host'];
    const rates = { device: [], host: [] };
    for (const where of wheres) await w.call('prep-rep', { where });
    for (let r = 0; r < REPS.prepDevice; r++) {
      for (const where of r % 2 === 0 ? wheres : [...wheres].reverse()) {
        const res = await w.call('prep-rep', { where });
        rates[where].push(res.slices / res.seconds);
      }
    }
    results.sections['prep-device'] = { rates };
    results.selfRows.push({
      key: 'prep-device',
      label: 'preprocessing, 2 × 24 slices of 512² HU → 224² (3 windows, CLAHE, affine, jitter), device-side tensor ops on the CPU device ÷ the host pipeline',
      unit: 'slices/s',
      a: summary(rates.device),
      b: summary(rates.host),
      ratio: summary(rates.device.map((v, i) => v / rates.host[i])),
      ratioOfMedians: summary(rates.device).median / summary(rates.host).median,
    });
  } finally {
    await w.close();
  }
}

/**
 * Data-parallel training, ichnet against PyTorch DDP on the quickstart model (bench/ichnet.mjs ddp,
 * bench/reference.py ddp; every rank a fresh process with torchrun's environment).
 * CPU (Gloo; 2 ranks × 1 thread, 1 × 24 slices per rank, so the global batch is the quickstart
 * row's 2 × 24): (i) the all-reduce + bucketing overhead per step: each rank alternates
 * data-parallel steps with the same steps of a local copy of the model in ABBA order, every step
 * after a barrier (both ranks at once, so both kinds share the cores alike, and a data-parallel step
 * waits only for its own step on the other rank); overhead = median over steps of the job's
 * data-parallel step − its local step, each the slowest rank's time, each side against itself; the
 * row's ratio is PyTorch's overhead ÷ ichnet's. A second row gives the mean over ranks of (DDP −
 * that rank's local step), which adds the wait for the slower rank: with two processes on two
 * cores that wait is often as large as the overhead itself, and it follows the spread of each
 * side's step times, not its all-reduce or buckets. (ii) Global slices/s of those 2 ranks × 1
 * thread, and of 1 process × 2 threads on the same global batch, as measured. The measured steps are split over
 * rounds; each round runs one job of each kind per side, the sides in alternating order (ABBA, as
 * the other rows alternate their repetitions), so that a slow stretch of the machine lands on both
 * sides and not on whichever ran last; the medians are over every round's steps, the paired
 * min–max over the rounds' own ratios. The ranks' memory is not sampled (runOneShot's sampler
 * reads each process's page tables 10 times a second, on the same two cores).
 * CUDA (NCCL; 2 × 24 slices per rank; one round): world size 1 (DDP step ÷ local step − 1, the
 * target is ≤ 3 %) and every GPU of the machine; scaling efficiency = N GPUs' global slices/s ÷
 * (N × one GPU's local slices/s).
 */
async function sectionDdp() {
  const { freeLoopbackPort } = await import('../dist/src/distributed/launcher.js');
  const [warmup, reps, rounds] = REPS.ddp;
  const base = { model: QUICKSTART, optim: { name: 'adam', lr: 1e-3 }, slices: 24, warmup, reps: Math.ceil(reps / rounds), seed: 0, ...DEVICE };
  const scripts = { ichnet: [node, join(root, 'bench/ichnet.mjs')], torch: [python, join(root, 'bench/reference.py')] };
  const median = (v) => summary(v).median;
  /** One job of `world` ranks of `side` (every rank's result), started together. */
  const job = async (side, world, params) => {
    const port = await freeLoopbackPort();
    const [cmd, script] = scripts[side];
    const placement = (r) => ({ MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(r), WORLD_SIZE: String(world), LOCAL_RANK: String(r), LOCAL_WORLD_SIZE: String(world) });
    const runs = await Promise.all(Array.from({ length: world }, (_, r) => runOneShot(cmd, [script, 'ddp', JSON.stringify(params)], { log: childLog, env: { ...(side === 'ichnet' ? childEnv : refEnv), ...placement(r) }, sampleMs: 0 })));
    const results = runs.map((x) => x.result);
    const r0 = results[0];
    log(`    ${side}, ${world} process(es) × ${params.threads} thread(s)${params.distributed ? ` (${r0.backend})` : ''}: step ${params.distributed ? `data-parallel ${fmt(median(r0.dp))} s, ` : ''}local ${fmt(median(r0.local))} s`);
    return results;
  };
  /** The jobs of one kind (one per round), as one job: each rank's steps in round order. */
  const merged = (jobs) => jobs[0].map((rank, k) => ({ ...rank, dp: jobs.flatMap((j) => j[k].dp), local: jobs.flatMap((j) => j[k].local) }));
  /**
   * Per step, the job's data-parallel step less its local step, in seconds: each the slowest rank's
   * (every rank starts each step after a barrier, so the slowest rank's time is the job's).
   */
  const overhead = (results) => results[0].dp.map((_, i) => Math.max(...results.map((r) => r.dp[i])) - Math.max(...results.map((r) => r.local[i])));
  /** Per step, the mean over ranks of (data-parallel − that rank's own local step) seconds: the overhead plus the wait for the slower rank. */
  const perRank = (results) => results[0].dp.map((_, i) => results.reduce((sum, r) => sum + r.dp[i] - r.local[i], 0) / results.length);
  /** Global slices/s of `kind` steps (every rank holds as many slices). */
  const rate = (results, kind, ranks) => summary(results[0][kind].map((sec) => (ranks * results[0].slices) / sec));
  const sides = ['ichnet', 'torch'];
  /** Per side and kind of job, the results of each round's job. */
  const runs = Object.fromEntries(sides.map((side) => [side, {}]));
  /** Runs one job of each kind in `kinds` ([kind, world, params]) per side, the sides in ABBA order over the rounds. */
  const roundsOf = async (kinds, count) => {
    for (let r = 0; r < count; r++) {
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const [i, [kind, world, params]] of kinds.entries()) {
        for (const side of i % 2 === 0 ? order : [...order].reverse()) (runs[side][kind] ??= []).push(await job(side, world, params));
      }
    }
  };
  /**
   * A table row from each side's summary `f(jobs)`, where `jobs(kind)` gives that kind's results:
   * the medians from every round's steps, the paired min–max from each round's own results;
   * `inverse`: lower is better (the ratio is PyTorch ÷ ichnet).
   */
  const row = (key, label, unit, f, inverse = false) => {
    const ratioOf = (a, b) => (inverse ? b.median / a.median : a.median / b.median);
    const of = (side, round) => f((kind) => (round === undefined ? merged(runs[side][kind]) : runs[side][kind][round]));
    const [ichnet, torch] = sides.map((side) => of(side));
    // Every kind of job has one job per round: any kind's count is the number of rounds.
    const roundCount = Object.values(runs.ichnet)[0].length;
    const paired = Array.from({ length: roundCount }, (_, i) => ratioOf(of('ichnet', i), of('torch', i)));
    results.rows.push({ key, label, unit, ichnet, torch, ratio: summary(paired), ratioOfMedians: ratioOf(ichnet, torch), ...(inverse ? { inverse } : {}) });
  };
  if (!GPU) {
    // (i) and (ii): 2 ranks × 1 thread; (ii): 1 process × 2 threads on the global batch.
    await roundsOf(
      [
        ['ranks', 2, { ...base, patients: 1, threads: 1, distributed: true }],
        ['single', 1, { ...base, patients: 2, threads: 2, distributed: false }],
      ],
      rounds,
    );
    const inRounds = `${rounds} round${rounds === 1 ? '' : 's'}`;
    row('ddp-overhead', `data-parallel all-reduce + bucketing overhead per step, Gloo, 2 ranks × 1 thread, quickstart, 1 × 24 slices per rank: median over steps (${inRounds}) of the job's DDP step − its local step, each the slowest rank's — PyTorch ÷ ichnet`, 'ms/step', (jobs) => summary(overhead(jobs('ranks')).map((s) => s * 1000)), true);
    row('ddp-overhead-per-rank', `the same overhead with the wait for the slower rank: median over steps (${inRounds}) of the mean over ranks of (DDP step − that rank's own local step) — PyTorch ÷ ichnet`, 'ms/step', (jobs) => summary(perRank(jobs('ranks')).map((s) => s * 1000)), true);
    row('ddp-2x1', 'data-parallel training, 2 ranks × 1 thread (Gloo), quickstart, global batch 2 × 24 slices', 'slices/s', (jobs) => rate(jobs('ranks'), 'dp', 2));
    row('ddp-1x2', 'the same global batch in 1 process × 2 threads, no data parallelism', 'slices/s', (jobs) => rate(jobs('single'), 'local', 1));
    const rows = Object.fromEntries(results.rows.map((r) => [r.key, r]));
    results.sections.ddp = { runs, rounds, ranksOverSingle: Object.fromEntries(sides.map((side) => [side, rows['ddp-2x1'][side].median / rows['ddp-1x2'][side].median])) };
    return;
  }
  // CUDA: world size 1, then every GPU; one round.
  const gpus = results.machine.gpu.split('\n').filter((l) => l.startsWith('GPU ')).length || 1;
  await roundsOf([['one', 1, { ...base, patients: 2, threads: T, distributed: true }]], 1);
  if (gpus > 1) await roundsOf([['all', gpus, { ...base, patients: 2, threads: Math.max(1, Math.floor(T / gpus)), distributed: true }]], 1);
  const pct = (jobs) => summary(jobs('one')[0].dp.map((sec, i) => (sec / jobs('one')[0].local[i] - 1) * 100));
  row('ddp-ws1', 'data-parallel world size 1 (NCCL, one GPU), quickstart, 2 × 24 slices: DDP step ÷ local step − 1 (target ≤ 3 %) — PyTorch ÷ ichnet', '%', pct, true);
  if (gpus > 1) {
    const efficiency = (jobs) => {
      const one = rate(jobs('one'), 'local', 1).median;
      return summary(rate(jobs('all'), 'dp', gpus).values.map((v) => v / (gpus * one)));
    };
    row('ddp-scaling', `data-parallel scaling efficiency, NCCL, 1 → ${gpus} GPUs, quickstart, 2 × 24 slices per GPU: ${gpus} GPUs' global slices/s ÷ (${gpus} × one GPU's)`, 'fraction', efficiency);
  }
  results.sections.ddp = { runs, gpus };
}

// ---------------------------------------------------------------- output
function table() {
  const head = ['benchmark', 'unit', 'ichnet median [min–max]', 'PyTorch median [min–max]', 'ichnet vs PyTorch, >1 = ichnet better: ratio of medians [paired min–max]'];
  const setting = (r) => (r.torchSetting ? ` (OMP_WAIT_POLICY ${r.torchSetting === 'passive' ? 'PASSIVE' : 'unset'})` : '');
  const lines = results.rows.map((r) => [r.label, r.unit, spread(r.ichnet), `${spread(r.torch)}${setting(r)}`, `**${fmt(r.ratioOfMedians, 3)}** [${fmt(r.ratio.min)}–${fmt(r.ratio.max)}]`]);
  return [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function selfTable() {
  const head = ['ichnet against itself', 'unit', 'variant median [min–max]', 'baseline median [min–max]', 'variant ÷ baseline: ratio of medians [paired min–max]'];
  const lines = results.selfRows.map((r) => [r.label + (r.note ? `; ${r.note}` : ''), r.unit, spread(r.a), spread(r.b), `**${fmt(r.ratioOfMedians, 3)}** [${fmt(r.ratio.min)}–${fmt(r.ratio.max)}]`]);
  return [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function report() {
  const m = results.machine;
  const v = results.versions;
  const lines = [];
  lines.push(`ichnet benchmark — ${m.date}${opts.quick ? '  (--quick: few repetitions, indicative only)' : ''}`);
  lines.push(`machine: ${m.cpu}, ${m.cores} cores${m.simd.length ? ` (${m.simd.join(', ')})` : ''}, ${m.memoryGiB} GiB, GPU: ${m.gpu}, Linux ${m.kernel}`);
  lines.push(`ichnet: LibTorch ${v.libtorch ?? '?'} (${v.ichnetThreads ?? '?'} threads by default), Node ${v.node ?? process.version}`);
  lines.push(`PyTorch: torch ${v.torch ?? '?'}, torchvision ${v.torchvision ?? '?'}, OpenCV ${v.cv2 ?? '?'}, pydicom ${v.pydicom ?? '?'}, numpy ${v.numpy ?? '?'}, Python ${v.python ?? '?'} (${python})`);
  lines.push(`precision: ${PRECISION === 'bf16' ? 'bf16 autocast' : PRECISION} on both sides (model, inference, end-to-end, predict and ddp rows; --precision ${opts.precision})`);
  if (GPU) lines.push(`device: CUDA, ${PRECISION === 'bf16' ? 'bf16 autocast' : PRECISION}, channels_last, cuDNN benchmark, pinned host memory (both sides); ${v.gpu ?? ''}, CUDA ${v.cuda ?? '?'}, cuDNN ${v.cudnn ?? '?'}`);
  lines.push(`threads: ${T} (ichnet intra-op threads; PyTorch torch.set_num_threads(${T}) and DataLoader num_workers=${T}); ichnet OMP_WAIT_POLICY ${childEnv.OMP_WAIT_POLICY ?? 'unset'}; the reference's model/inference/e2e rows under ${REF_POLICIES.map((p) => (p === 'passive' ? 'PASSIVE' : 'unset')).join(' and ')}, the faster counting`);
  const mib = (v) => `${Number(v) / 2 ** 20} MiB`;
  lines.push(`malloc: ichnet's addon sets glibc's mmap threshold, trim threshold and top pad itself; ${REF_MALLOC.MALLOC_MMAP_THRESHOLD_ ? `every reference process gets the same (MALLOC_MMAP_THRESHOLD_ ${mib(REF_MALLOC.MALLOC_MMAP_THRESHOLD_)}, MALLOC_TRIM_THRESHOLD_ ${mib(REF_MALLOC.MALLOC_TRIM_THRESHOLD_)}, MALLOC_TOP_PAD_ ${mib(REF_MALLOC.MALLOC_TOP_PAD_)})` : "the reference runs with glibc's defaults"}`);
  lines.push(`blas: ${REF_BLAS.OPENBLAS_NUM_THREADS ? `ichnet's addon runs OpenBLAS on the calling thread; every reference process gets OPENBLAS_NUM_THREADS=${REF_BLAS.OPENBLAS_NUM_THREADS}` : 'OpenBLAS left alone on both sides'}`);
  if (opts.noOverlap) lines.push('ichnet: train.overlap false (--no-overlap): every step prepares its own batch');
  if (!GPU) lines.push(`memory format: ${DEVICE.channelsLast ? 'channels_last' : 'NCHW (--nchw)'} for both sides' models`);
  const la = results.load;
  lines.push(`load average (1/5/15 min): start ${la.start.one}/${la.start.five}/${la.start.fifteen}, end ${la.end?.one}/${la.end?.five}/${la.end?.fifteen}`);
  lines.push('');
  if (results.rows.length) lines.push(table());
  if (results.selfRows.length) lines.push('', selfTable());
  const seed = results.rows.find((r) => r.key === 'trainSeed');
  if (GPU && seed && results.ceiling) {
    const tflops = results.ceiling.bf16TflopsPerSecond;
    const ceiling = (tflops * 1e12) / VGG16_TRAIN_FLOP;
    const pct = (rate) => `${((rate / ceiling) * 100).toFixed(1)} %`;
    lines.push('');
    lines.push(
      `seed train step against the GPU's measured bf16 matrix rate (${tflops.toFixed(0)} TFLOP/s → ceiling ${ceiling.toFixed(0)} slices/s at ${VGG16_TRAIN_FLOP / 1e9} GFLOP per slice): ` +
        `ichnet ${fmt(seed.ichnet.median)} slices/s = ${pct(seed.ichnet.median)}, PyTorch ${fmt(seed.torch.median)} slices/s = ${pct(seed.torch.median)}`,
    );
  }
  const lm = results.sections['loader-memory'];
  if (lm) {
    lines.push('');
    lines.push(
      `loader memory (ichnet SliceLoader alone, one epoch, ${lm.slices} DICOM slices of 512² = ${lm.pixelMiB.toFixed(0)} MiB of HU pixels, ${lm.batches} batches, ${lm.seconds.toFixed(1)} s): ` +
        `RSS before ${lm.beforeMiB.toFixed(0)} MiB, after the first batch ${lm.firstMiB.toFixed(0)} MiB, after the last ${lm.lastMiB.toFixed(0)} MiB, max ${lm.maxMiB.toFixed(0)} MiB (${lm.samples} samples)`,
    );
  }
  const ddp = results.sections.ddp;
  if (ddp?.ranksOverSingle) {
    lines.push('');
    lines.push(`data parallelism on this machine's cores, 2 ranks × 1 thread ÷ 1 process × 2 threads, global slices/s on the same global batch: ichnet ${fmt(ddp.ranksOverSingle.ichnet)}, PyTorch ${fmt(ddp.ranksOverSingle.torch)}`);
  }
  const cores = Object.entries(results.sections).filter(([, s]) => s.ichnet?.coresBusy);
  if (cores.length) {
    lines.push('');
    lines.push('CPU cores kept busy during the measured repetitions (CPU time of the process tree ÷ wall time), median: ' + cores.map(([k, s]) => `${k} ichnet ${fmt(s.ichnet.coresBusy.median, 2)} / PyTorch ${fmt(s.torch.coresBusy.median, 2)}`).join('; '));
  }
  const use = Object.entries(results.sections).filter(([, s]) => s.threadUse);
  if (use.length) {
    const describe = (procs) => {
      const threads = procs.flatMap((p) => p.threads);
      const total = procs.reduce((a, p) => a + p.total, 0);
      const main = threads.find((t) => t.name.endsWith('(main thread)'));
      const mainShare = main && procs.length === 1 ? `, main thread ${Math.round((main.seconds / total) * 100)} %` : '';
      return `${threads.length} thread(s) in ${procs.length} process(es)${mainShare}`;
    };
    lines.push('Threads doing ≥ 5 % of a side\'s CPU work: ' + use.map(([k, s]) => `${k} ichnet ${describe(s.threadUse.ichnet)} / PyTorch ${describe(s.threadUse.torch)}`).join('; '));
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main
async function main() {
  if (!existsSync(join(root, 'dist/src/index.js'))) {
    log('bench: dist/ is missing; compiling with tsc');
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
  if (!existsSync(python)) throw new Error(`${python} not found: set ICHNET_PYTHON to an interpreter with torch, torchvision, cv2, pydicom and numpy`);
  const t0 = performance.now();
  log(`bench: ${opts.quick ? 'quick' : 'full'} run, sections ${opts.only.join(', ')}; load average ${results.load.start.one}`);
  await versions();
  const run = async (name, fn) => {
    const la0 = loadAverage();
    const s0 = performance.now();
    log(`bench: ${name} (load ${la0.one})`);
    await fn();
    log(`bench: ${name} done in ${((performance.now() - s0) / 1000).toFixed(0)} s`);
    (results.load.sections ??= {})[name] = { start: la0, end: loadAverage() };
    // What is measured so far survives a run stopped by a time limit (npm run gpu-check's, say).
    if (opts.save) writeFileSync(opts.save, `${JSON.stringify({ ...results, partial: true }, null, 2)}\n`);
  };
  // Sections run in the order --only names them (a time-limited run, such as npm run gpu-check's,
  // puts first what it must not lose).
  const sections = {
    data: () => run('data', sectionData),
    train: async () => {
      await run('train (quickstart)', () => sectionModel('trainQuick'));
      await run('train (seed)', () => sectionModel('trainSeed'));
    },
    infer: () => run('infer', () => sectionModel('infer')),
    e2e: () => run('e2e', sectionE2e),
    predict: () => run('predict', sectionPredict),
    'loader-memory': () => run('loader-memory', sectionLoaderMemory),
    'loader-workers': () => run('loader-workers', sectionLoaderWorkers),
    'prep-device': () => run('prep-device', sectionPrepDevice),
    ddp: () => run('ddp', sectionDdp),
  };
  for (const name of new Set(opts.only)) await sections[name]();
  results.load.end = loadAverage();
  results.totalSeconds = (performance.now() - t0) / 1000;
  log(`bench: finished in ${results.totalSeconds.toFixed(0)} s`);
  if (opts.save) writeFileSync(opts.save, `${JSON.stringify(results, null, 2)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`${report()}\n`);
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
