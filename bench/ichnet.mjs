#!/usr/bin/env node
/**
 * ichnet's side of `npm run bench` (driven by bench/run.mjs; uses the compiled package in dist/).
 *
 *   node bench/ichnet.mjs serve                 JSON-lines commands on stdin, replies on fd 3
 *   node bench/ichnet.mjs e2e '<json>'          one training epoch with Trainer; result on fd 3
 *   node bench/ichnet.mjs loader-memory '<json>' RSS over one epoch of the loader alone; result on fd 3
 *   node bench/ichnet.mjs loader-workers '<json>' slices/s of the loader alone with N decode workers; result on fd 3
 *   node bench/ichnet.mjs synth '<json>'        writes a synthetic DICOM set (writeSyntheticDataset)
 *   node bench/ichnet.mjs checkpoint '<json>'   writes an untrained checkpoint of a model (for the predict rows)
 *   node bench/ichnet.mjs predict '<json>'      `ichnet predict` on a folder of studies; result on fd 3
 *   node bench/ichnet.mjs ddp '<json>'          one rank of the ddp rows (torchrun's environment); result on fd 3
 *
 * Every measurement is wall time around awaited public API calls: `SliceLoader` + `preprocess()`
 * for the data pipeline, `Session.trainStep` / `Session.predict` on a preprocessed float32 batch
 * for the model, `Trainer.fit()` for the epoch.
 */
import { readFileSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { loadExperimentConfig, openDataset, preprocess, Session, Trainer, writeSyntheticDataset } from '../dist/src/index.js';
import { augmentSchema } from '../dist/src/config/augment-schema.js';
import { predictCommand } from '../dist/src/cli/predict.js';
import { SliceLoader } from '../dist/src/data/loader.js';
import { Rng } from '../dist/src/data/rng.js';

const reply = (obj) => writeSync(3, `${JSON.stringify(obj)}\n`);
const now = () => performance.now() / 1000;

/** Full-strength augmentation with ichnet's defaults (flip, ±15°, 0.9–1.1, ±5 %, brightness/contrast ±0.1). */
const augment = augmentSchema.parse({ schedule: { kind: 'constant' } });

const state = {};

const commands = {
  async info() {
    const session = state.session ?? (await Session.create({ model: { width: 0.0625 }, prep: { input_size: 32 }, device: 'cpu' }));
    return { ...(await session.info()), node: process.version };
  },

  /** The data pipeline: loader (decode DICOM → HU) + preprocess (window, CLAHE, affine, jitter, resize). */
  async 'data-setup'({ root, patients, inputSize, patientsPerBatch, maxSlices, threads, seed }) {
    const dataset = await openDataset({ format: 'folders', root });
    const selected = dataset.patients.slice(0, patients);
    state.data = {
      inputSize,
      threads,
      loader: new SliceLoader(selected, { labels: dataset.labelNames.length, patientsPerBatch, maxSlices, mode: 'train', seed, augment }),
    };
    return { patients: selected.length, slices: selected.reduce((n, p) => n + p.slices.length, 0), labels: dataset.labelNames };
  },
  /** One training batch, raw, for timing preprocess() on the host against the device pipeline. */
  async 'prep-setup'({ root, patients, inputSize, patientsPerBatch, maxSlices, threads, seed }) {
    const dataset = await openDataset({ format: 'folders', root });
    const loader = new SliceLoader(dataset.patients.slice(0, patients), { labels: dataset.labelNames.length, patientsPerBatch, maxSlices, mode: 'train', seed, augment });
    for await (const { batch } of loader.batches(0)) {
      state.prep = { batch, inputSize, threads };
      break;
    }
    return { slices: state.prep.batch.lengths.reduce((a, v) => a + v, 0) };
  },
  async 'prep-rep'({ where }) {
    const { batch, inputSize, threads } = state.prep;
    const t0 = now();
    const out = await preprocess(batch, { inputSize, threads, device: 'cpu', prep: { where } });
    return { seconds: now() - t0, slices: out.length / (3 * inputSize * inputSize) };
  },
  async 'data-rep'({ epoch }) {
    const { loader, inputSize, threads } = state.data;
    const plane = 3 * inputSize * inputSize;
    let slices = 0;
    const t0 = now();
    for await (const { batch } of loader.batches(epoch)) {
      const out = await preprocess(batch, { prep: { input_size: inputSize }, threads });
      slices += out.length / plane;
    }
    return { seconds: now() - t0, slices };
  },

  /** A session and one preprocessed float32 batch [B, S, 3, H, W] with random labels. */
  async 'model-setup'({ model, optim, patients, slices, threads, seed = 0, device = 'cpu', precision = 'fp32', channelsLast = false }) {
    const session = await Session.create({ ...sections(model), optim, device, precision, channels_last: channelsLast, threads, seed });
    state.session = session;
    state.batch = randomBatch(session, patients, slices, seed + 1);
    return { info: await session.info(), slices: patients * slices };
  },
  /** `settle` untimed steps (the first after another process had the cores), then `steps` timed back to back. */
  async 'train-rep'({ settle = 0, steps = 1 } = {}) {
    for (let k = 0; k < settle; k++) await state.session.trainStep(state.batch);
    let loss = 0;
    const t0 = now();
    for (let k = 0; k < steps; k++) ({ loss } = await state.session.trainStep(state.batch));
    return { seconds: now() - t0, slices: steps * state.batch.lengths.reduce((a, v) => a + v, 0), loss };
  },
  async 'infer-rep'({ settle = 0, steps = 1 } = {}) {
    const { labels: _, ...batch } = state.batch;
    for (let k = 0; k < settle; k++) await state.session.predict(batch);
    const t0 = now();
    for (let k = 0; k < steps; k++) await state.session.predict(batch);
    return { seconds: now() - t0, slices: steps * batch.lengths.reduce((a, v) => a + v, 0) };
  },
};

async function serve() {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const { id, cmd, params } = JSON.parse(line);
    try {
      const fn = commands[cmd];
      if (!fn) throw new Error(`unknown command '${cmd}'`);
      reply({ id, ok: true, result: await fn(params ?? {}) });
    } catch (e) {
      reply({ id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }
}

/**
 * The model the bench describes to both sides (bench/run.mjs; bench/reference.py reads the same
 * object) as ichnet's config sections: the input size is a preprocessing setting here.
 */
function sections({ input_size, ...model }) {
  return { model, prep: { input_size } };
}

/** A preprocessed float32 batch [B, S, 3, H, W] of ≈ N(0, 1) pixels with random labels, for `session`'s model. */
function randomBatch(session, patients, slices, seed) {
  const L = session.config.model.labels.length;
  const H = session.config.prep.input_size;
  const stream = new Rng(seed);
  const random = () => stream.float();
  const images = new Float32Array(patients * slices * 3 * H * H);
  for (let i = 0; i < images.length; i++) images[i] = (random() + random() + random() - 1.5) * 2;
  const labels = new Uint8Array(patients * slices * L);
  for (let i = 0; i < labels.length; i++) labels[i] = random() < 0.2 ? 1 : 0;
  return { images, shape: [patients, slices, 3, H, H], lengths: new Int32Array(patients).fill(slices), labels };
}

/**
 * One rank of the ddp rows. With `distributed`, started once per rank with torchrun's environment:
 * a data-parallel session and a local one (no `distributed`) of the same model, on one random batch
 * each; after warm-ups it alternates data-parallel and local steps in ABBA order (the pairs cancel
 * a drift and any effect of which kind goes first), so that both kinds run while the other ranks do
 * the same, every step starting after a barrier (a one-value `allGather`): a data-parallel step
 * then waits only for the other ranks' share of that same step, as in training, not for the skew
 * the ranks' previous local step left. Without, the local session alone. Step seconds of each kind.
 */
async function ddp({ model, optim, patients, slices, threads, warmup, reps, distributed, seed = 0, device = 'cpu', precision = 'fp32', channelsLast = false }) {
  const env = process.env;
  const rank = Number(env.RANK ?? 0);
  const rankDevice = device === 'cuda' ? `cuda:${env.LOCAL_RANK ?? 0}` : device;
  const base = { ...sections(model), optim, device: rankDevice, precision, channels_last: channelsLast, threads, seed };
  const local = await Session.create(base);
  const dp = distributed
    ? await Session.create({ ...base, distributed: { master_addr: env.MASTER_ADDR, master_port: Number(env.MASTER_PORT), rank, world_size: Number(env.WORLD_SIZE), timeout_ms: 120_000 } })
    : null;
  try {
    const batch = randomBatch(local, patients, slices, seed + 1 + rank);
    const times = { dp: [], local: [] };
    const barrier = new Float32Array(1);
    const step = async (kind, keep) => {
      if (dp) await dp.allGather(barrier);
      const t0 = now();
      await (kind === 'dp' ? dp : local).trainStep(batch);
      if (keep) times[kind].push(now() - t0);
    };
    for (let r = 0; r < warmup + reps; r++) {
      const kinds = !dp ? ['local'] : r % 2 === 0 ? ['dp', 'local'] : ['local', 'dp'];
      for (const kind of kinds) await step(kind, r >= warmup);
    }
    return { rank, slices: patients * slices, ...times, backend: dp ? (await dp.info()).backend : undefined };
  } finally {
    await dp?.close();
    await local.close();
  }
}

/** One epoch of the quickstart model on a synthetic set with Trainer (validation, checkpoints and report included). */
async function e2e({ root, model, epochs = 1, validation, threads, out, device = 'cpu', precision = 'fp32', channelsLast = false, overlap = true }) {
  const runParent = out ?? (await mkdtemp(join(tmpdir(), 'ichnet-bench-run-')));
  const config = await loadExperimentConfig({
    preset: 'quickstart',
    // Pinned to what bench/reference.py's e2e does, whatever the preset says: the model bench/run.mjs
    // gives both sides, in one stage, CLAHE on (the quickstart preset turns it off for the phantoms).
    set: [
      ...Object.entries(sections(model)).flatMap(([section, keys]) => Object.entries(keys).map(([key, value]) => `${section}.${key}=${JSON.stringify(value)}`)),
      'stages=[]',
      'prep.clahe.enabled=true',
      'data.format=folders',
      `data.root=${root}`,
      `train.epochs=${epochs}`,
      `train.validation=${validation}`,
      `train.overlap=${overlap}`,
      'augment.schedule.kind=constant',
      `threads=${threads}`,
      `device=${device}`,
      `precision=${precision}`,
      `channels_last=${channelsLast}`,
      `out=${runParent}`,
    ],
  });
  const tCreate = now();
  const trainer = await Trainer.create(config, { runDir: join(runParent, 'run') });
  let tStage;
  let tLastStep;
  let steps = 0;
  trainer.on('stage', () => (tStage = now()));
  trainer.on('step', () => {
    tLastStep = now();
    steps++;
  });
  const result = await trainer.fit();
  const tEnd = now();
  const usage = process.resourceUsage();
  const state = JSON.parse(await readFile(join(runParent, 'run', 'checkpoints', 'last', 'state.json'), 'utf8'));
  if (!out) await rm(runParent, { recursive: true, force: true });
  const epoch = result.history[0];
  return {
    trainSeconds: tLastStep - tStage,
    epochWithValidationSeconds: epoch.seconds,
    dataWaitSeconds: epoch.dataWaitSeconds,
    fitSeconds: tEnd - tCreate,
    processSeconds: tEnd,
    steps,
    slices: Math.round(epoch.slicesPerSecond * epoch.seconds),
    validationPatients: state.validationPatients.length,
    finalF2: result.final?.slice.f2.micro,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    maxRssBytes: usage.maxRSS * 1024,
  };
}

/** Resident memory over one epoch of the loader alone (decode + batching, no preprocessing). */
async function loaderMemory({ root, patientsPerBatch, maxSlices, seed, intervalMs = 50 }) {
  const dataset = await openDataset({ format: 'folders', root });
  const loader = new SliceLoader(dataset.patients, { labels: dataset.labelNames.length, patientsPerBatch, maxSlices, mode: 'train', seed, augment });
  const mib = () => process.memoryUsage.rss() / 2 ** 20;
  const samples = [];
  const timer = setInterval(() => samples.push(mib()), intervalMs);
  const before = mib();
  const perBatch = [];
  let slices = 0;
  let pixelBytes = 0;
  const t0 = now();
  for await (const { batch } of loader.batches(0)) {
    slices += batch.lengths.reduce((a, v) => a + v, 0);
    pixelBytes += batch.images.byteLength;
    perBatch.push(mib());
  }
  const seconds = now() - t0;
  clearInterval(timer);
  const all = [...samples, ...perBatch];
  return {
    beforeMiB: before,
    firstMiB: perBatch[0],
    lastMiB: perBatch.at(-1),
    maxMiB: Math.max(...all),
    minMiB: Math.min(...all),
    samples: all.length,
    batches: perBatch.length,
    perBatchMiB: perBatch.map((v) => Number(v.toFixed(1))),
    slices,
    pixelMiB: pixelBytes / 2 ** 20,
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** CPU seconds (user + system) of this process's main thread, from /proc. */
function mainThreadCpuSeconds() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/**
 * The loader alone (decode + batching, no preprocessing) with `workers` decode threads: `epochs`
 * epochs timed together after a first epoch of the same loader as warm-up (one epoch of the bench's
 * set lasts 0.1–0.3 s, so one alone would weigh the pipeline's fill and drain and the 10 ms CPU-time
 * ticks more than the steady state a training run sees), as in training, where the loader, its
 * decode threads and the batch memory its consumer released carry over from epoch to epoch
 * (batches are released as a training loop releases them once their step has resolved).
 * Slices/s, the main thread's busy time (event-loop utilisation) and CPU time, the decode threads'
 * summed decode time, how the batches were made.
 */
async function loaderWorkers({ root, workers, patientsPerBatch, maxSlices, seed, epochs = 1 }) {
  const dataset = await openDataset({ format: 'folders', root });
  const options = { labels: dataset.labelNames.length, patientsPerBatch, maxSlices, mode: 'train', seed, augment, workers };
  const loader = new SliceLoader(dataset.patients, options);
  for await (const loaded of loader.batches(0)) loader.release(loaded);
  const before = loader.decodePool.stats;
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const main0 = mainThreadCpuSeconds();
  let slices = 0;
  const t0 = now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for await (const loaded of loader.batches(epoch)) {
      slices += loaded.batch.lengths.reduce((a, v) => a + v, 0);
      loader.release(loaded); // done with it, as a training loop is once its step has resolved
    }
  }
  const seconds = now() - t0;
  const mainCpu = mainThreadCpuSeconds() - main0;
  const mainBusyMs = performance.eventLoopUtilization(elu).active;
  const after = loader.decodePool.stats;
  const processCpu = process.cpuUsage(cpu);
  const processCpuSeconds = (processCpu.user + processCpu.system) / 1e6;
  const decoded = after.slices - before.slices;
  return {
    workers,
    seconds,
    slices,
    slicesPerSecond: slices / seconds,
    // Wall time the event loop was busy (includes time the OS kept a busy thread waiting for a core).
    mainBusyMsPerSlice: mainBusyMs / slices,
    // Wall time inside readSlice, per slice (the same caveat); with 0 workers the main thread decodes.
    workerBusyMsPerSlice: decoded > 0 ? (after.workerBusyMs - before.workerBusyMs) / decoded : mainBusyMs / slices,
    // CPU time (/proc, 10 ms ticks): the main thread's, and every other thread's (decode workers,
    // garbage-collector helpers, libuv), per slice.
    mainCpuMsPerSlice: (mainCpu * 1000) / slices,
    otherThreadsCpuMsPerSlice: ((processCpuSeconds - mainCpu) * 1000) / slices,
    processCpuSeconds,
    // Batches decoded in place (both epochs), and those copied together from decoded slices;
    // messages to the worker threads and calls to the native threads; slices the native threads wrote.
    assembly: loader.assembly,
    requests: after.requests - before.requests,
    nativeSlices: after.nativeSlices - before.nativeSlices,
  };
}

async function synth({ out, patients, size, slices, seed }) {
  const t0 = now();
  const info = await writeSyntheticDataset({ out, patients, size, slices, seed, format: 'dicom' });
  return { root: info.root, patients: info.patients, slices: info.slices, seconds: now() - t0 };
}

/**
 * A checkpoint directory of `model` with its initial weights (speed does not depend on training):
 * model.safetensors + the model file in PyTorch's names for the reference, and the state.json
 * `ichnet predict` reads (quickstart settings, CLAHE on, thresholds 0.5).
 */
async function checkpoint({ dir, model, threads, channelsLast = false, precision = 'fp32' }) {
  const config = await loadExperimentConfig({
    preset: 'quickstart',
    set: [...Object.entries(model).map(([key, value]) => `model.${key}=${JSON.stringify(value)}`), 'stages=[]', 'prep.clahe.enabled=true', `threads=${threads}`, 'device=cpu', `precision=${precision}`, `channels_last=${channelsLast}`],
  });
  const session = await Session.create({ model: config.model, prep: config.prep, loss: config.loss, optim: config.optim, device: 'cpu', threads, seed: 0, precision, channels_last: channelsLast });
  const labels = ['ich', 'ivh', 'sah', 'sdh', 'edh'];
  const state = { version: 1, config, labels, thresholds: labels.map(() => 0.5), stage: 0, epoch: 0, batchInEpoch: 0, globalStep: 0, best: null, history: [], validationPatients: [], interrupted: false };
  await session.saveCheckpoint(dir, { 'state.json': JSON.stringify(state) });
  await session.close();
  return { dir, weights: join(dir, 'model.safetensors') };
}

/** `ichnet predict --checkpoint … --data … --out …`, in this process, as the command line runs it. */
async function predict({ checkpoint: dir, root, out }) {
  const t0 = now();
  const log = console.log;
  let lines = [];
  console.log = (line) => lines.push(String(line)); // the command's report would mix with bench output
  try {
    await predictCommand({ checkpoint: dir, data: root, out, format: 'csv' });
  } finally {
    console.log = log;
  }
  const seconds = now() - t0;
  const m = /^(\d+) studies, (\d+) slices in [\d.]+ s/m.exec(lines.join('\n'));
  const usage = process.resourceUsage();
  return { seconds, studies: Number(m?.[1]), slices: Number(m?.[2]), cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, maxRssBytes: usage.maxRSS * 1024 };
}

const [mode, arg] = process.argv.slice(2);
const oneShot = { e2e, 'loader-memory': loaderMemory, 'loader-workers': loaderWorkers, synth, checkpoint, predict, ddp };
if (mode === 'serve') {
  await serve();
} else if (oneShot[mode]) {
  try {
    reply({ id: 0, ok: true, result: await oneShot[mode](JSON.parse(arg ?? '{}')) });
  } catch (e) {
    reply({ id: 0, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exitCode = 1;
  }
} else {
  console.error('usage: node bench/ichnet.mjs <serve|e2e|loader-memory|loader-workers|synth|checkpoint|predict|ddp> [json]');
  process.exit(2);
}
