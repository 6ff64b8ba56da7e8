/**
 * Helpers shared by `bench/run.mjs` and the ichnet side of the benchmark: statistics, process
 * tree accounting from /proc (CPU time, PSS/RSS), and a JSON-lines RPC over a child's fd 3.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

// ---------------------------------------------------------------- statistics

/** Quantile with linear interpolation (numpy's default), q in [0, 1]. */
export function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Median, min, max, quartiles and the sample count. */
export function summary(values) {
  return {
    median: quantile(values, 0.5),
    min: Math.min(...values),
    max: Math.max(...values),
    q1: quantile(values, 0.25),
    q3: quantile(values, 0.75),
    n: values.length,
    values,
  };
}

// ---------------------------------------------------------------- /proc accounting

const CLK_TCK = 100;

function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The pid and all its live descendants. */
export function processTree(pid) {
  const out = [];
  const visit = (p) => {
    out.push(p);
    for (const task of listTasks(p)) {
      const children = readText(`/proc/${p}/task/${task}/children`);
      if (children) for (const c of children.trim().split(/\s+/).filter(Boolean)) visit(Number(c));
    }
  };
  visit(pid);
  return out;
}

function listTasks(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** Fields of /proc/<pid>[/task/<tid>]/stat after the command name. */
function statFields(path) {
  const text = readText(path);
  if (!text) return undefined;
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU seconds used so far by a process tree: every live process's user + system time plus the
 * time of children it has already waited for (so exited DataLoader workers still count).
 */
export function treeCpuSeconds(pid) {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const f = statFields(`/proc/${p}/stat`);
    if (!f) continue;
    // after ')': state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / CLK_TCK;
}

/** Per-thread CPU seconds of one process: { tid: { name, seconds } }. */
export function threadCpu(pid) {
  const out = {};
  for (const tid of listTasks(pid)) {
    const text = readText(`/proc/${pid}/task/${tid}/stat`);
    if (!text) continue;
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const name = String(tid) === String(pid) ? `${comm} (main thread)` : comm;
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    out[tid] = { name, seconds: (Number(f[11]) + Number(f[12])) / CLK_TCK };
  }
  return out;
}

/** Threads that used more than `minShare` of the process's CPU time between two threadCpu snapshots. */
export function busyThreads(before, after, minShare = 0.05) {
  const deltas = Object.entries(after).map(([tid, t]) => ({ tid, name: t.name, seconds: t.seconds - (before[tid]?.seconds ?? 0) }));
  const total = deltas.reduce((a, d) => a + d.seconds, 0);
  return {
    total,
    threads: deltas
      .filter((d) => total > 0 && d.seconds / total >= minShare)
      .sort((a, b) => b.seconds - a.seconds)
      .map((d) => ({ name: d.name, seconds: Number(d.seconds.toFixed(2)), share: Number((d.seconds / total).toFixed(3)) })),
  };
}

/** PSS and RSS (bytes) summed over a process tree. PSS splits pages shared with forked workers fairly. */
export function treeMemory(pid) {
  let pss = 0;
  let rss = 0;
  const pids = processTree(pid);
  for (const p of pids) {
    const text = readText(`/proc/${p}/smaps_rollup`);
    if (!text) continue;
    const pssKb = /^Pss:\s+(\d+) kB/m.exec(text);
    const rssKb = /^Rss:\s+(\d+) kB/m.exec(text);
    if (pssKb) pss += Number(pssKb[1]) * 1024;
    if (rssKb) rss += Number(rssKb[1]) * 1024;
  }
  return { pss, rss, processes: pids.length };
}

/** Samples treeMemory(pid) every `ms` until stopped; returns peaks. */
export function memorySampler(pid, ms = 200) {
  const peak = { pss: 0, rss: 0, processes: 0, samples: 0 };
  const sample = () => {
    const m = treeMemory(pid);
    if (m.processes === 0 || m.rss === 0) return;
    peak.pss = Math.max(peak.pss, m.pss);
    peak.rss = Math.max(peak.rss, m.rss);
    peak.processes = Math.max(peak.processes, m.processes);
    peak.samples++;
  };
  const timer = setInterval(sample, ms);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** 1-minute load average. */
export function loadAverage() {
  const text = readText('/proc/loadavg') ?? '0 0 0';
  const [one, five, fifteen] = text.split(' ').map(Number);
  return { one, five, fifteen };
}

// ---------------------------------------------------------------- JSON-lines RPC over fd 3

/**
 * Starts a benchmark worker: commands go to its stdin as JSON lines, replies come back on its
 * fd 3 (so library output on stdout/stderr never mixes with the protocol). `log` receives the
 * child's stdout/stderr lines.
 */
export function startWorker(command, args, { log = () => {}, env = process.env, cwd } = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env, cwd });
  const tail = [];
  const keep = (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    log(line);
  };
  createInterface({ input: child.stdout }).on('line', keep);
  createInterface({ input: child.stderr }).on('line', keep);
  const pending = new Map();
  let nextId = 1;
  let exited;
  const failAll = (error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  createInterface({ input: child.stdio[3] }).on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      keep(`[protocol] ${line}`);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`${command} ${args[0] ?? ''}: ${msg.error}`));
  });
  const done = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      failAll(new Error(`${command} ${args.join(' ').slice(0, 80)} exited (${signal ?? code}):\n${tail.join('\n')}`));
      resolve(exited);
    });
    child.on('error', (e) => {
      exited = { code: -1, signal: null };
      failAll(e);
      resolve(exited);
    });
  });
  return {
    pid: child.pid,
    child,
    tail,
    call(cmd, params = {}) {
      if (exited) return Promise.reject(new Error(`${command}: worker already exited:\n${tail.join('\n')}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.stdin.write(`${JSON.stringify({ id, cmd, params })}\n`);
      });
    },
    async close() {
      if (!exited) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
        await done;
        clearTimeout(timer);
      }
      return exited;
    },
    done,
  };
}

/**
 * Runs a one-shot benchmark child to completion: its result is the first reply on fd 3. Samples
 * the process tree's memory while it runs (every `sampleMs`; 0: not at all, and `peak` is null) and
 * times it from spawn to exit.
 */
export async function runOneShot(command, args, { log = () => {}, env = process.env, sampleMs = 100 } = {}) {
  const t0 = performance.now();
  const worker = startWorker(command, args, { log, env });
  const sampler = sampleMs > 0 ? memorySampler(worker.pid, sampleMs) : { stop: () => null };
  const result = new Promise((resolve, reject) => {
    createInterface({ input: worker.child.stdio[3] }).on('line', (line) => {
      try {
        const msg = JSON.parse(line);
        if (msg.ok) resolve(msg.result);
        else reject(new Error(`${command} ${args[0] ?? ''} ${args[1] ?? ''}: ${msg.error}`));
      } catch {
        /* not protocol */
      }
    });
  });
  worker.child.stdin.end();
  const exit = await worker.done;
  const wallSeconds = (performance.now() - t0) / 1000;
  const peak = sampler.stop();
  const settled = await Promise.race([result.then((r) => ({ r }), (e) => ({ e })), new Promise((r) => setTimeout(() => r({ e: new Error(`${command} ${args[0]}: exited (${exit.signal ?? exit.code}) without a result:\n${worker.tail.join('\n')}`) }), 100))]);
  if (settled.e) throw settled.e;
  return { result: settled.r, wallSeconds, peak, exit };
}
