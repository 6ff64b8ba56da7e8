/** Reading experiment configs: YAML/JSON files, shipped presets and `key=value` overrides. */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';

import { packageRoot } from '../package-root.js';
import { parseExperimentConfig, type ExperimentConfig } from './experiment-schema.js';
import { formatIssues } from './session-schema.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** The presets shipped in the package (`presets/<name>.yaml`). */
export function presetNames(): string[] {
  const dir = join(packageRoot, 'presets');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort() : [];
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new IchnetError('CONFIG_INVALID', `${path}: cannot read the config (${(e as Error).message})`);
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new IchnetError('CONFIG_INVALID', `${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new IchnetError('CONFIG_INVALID', `${path}: expected a mapping of settings at the top level`);
  return value as Record<string, unknown>;
}

/**
 * Applies `a.b.c=value` to a plain object. Values are read as YAML scalars or flow collections,
 * so `3e-4`, `true`, `none`, `[8, 8]` and `{kind: cosine}` all mean what they look like. A numeric
 * key indexes an existing list entry: `stages.1.epochs=3`.
 */
export function applyOverride(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new IchnetError('CONFIG_INVALID', `--set ${assignment}: expected key=value, e.g. --set optim.lr=3e-4`);
  const keys = assignment.slice(0, eq).trim().split('.');
  let value: unknown;
  try {
    value = YAML.parse(assignment.slice(eq + 1));
  } catch {
    value = assignment.slice(eq + 1);
  }
  let node: Record<string, unknown> | unknown[] = target;
  const path: string[] = [];
  for (const key of keys.slice(0, -1)) {
    path.push(key);
    // A list is indexed like an object (list['1']), once the index is known to exist.
    const slot = Array.isArray(node) ? String(listIndex(node, key, assignment, path)) : key;
    const container = node as Record<string, unknown>;
    let next = container[slot];
    if (next === undefined || next === null) next = container[slot] = {};
    else if (typeof next !== 'object') throw new IchnetError('CONFIG_INVALID', `--set ${assignment}: '${path.join('.')}' is not a section`);
    node = next as Record<string, unknown> | unknown[];
  }
  const last = keys[keys.length - 1] as string;
  if (Array.isArray(node)) node[listIndex(node, last, assignment, [...path, last])] = value;
  else node[last] = value;
}

/** `key` as an index of an existing entry of `list` (a decimal number below its length). */
function listIndex(list: unknown[], key: string, assignment: string, path: string[]): number {
  const index = /^\d+$/.test(key) ? Number(key) : Number.NaN;
  if (!(index < list.length)) {
    throw new IchnetError('CONFIG_INVALID', `--set ${assignment}: '${path.join('.')}' does not exist (the list has ${list.length} entr${list.length === 1 ? 'y' : 'ies'}, numbered from 0)`);
  }
  return index;
}

/** Where `loadExperimentConfig` takes a config from: a file or a preset, then overrides. */
export interface ConfigSource {
  /** A YAML or JSON file. */
  config?: string;
  /** A shipped preset (`quickstart`, `seed`). */
  preset?: string;
  /** `key=value` overrides, applied in order. */
  set?: string[];
  /** Settings applied before the overrides (e.g. from command-line flags such as --data). */
  base?: Record<string, unknown>;
}

/** Resolves a complete experiment config; throws an IchnetError CONFIG_INVALID listing every bad key. */
export async function loadExperimentConfig(source: ConfigSource = {}): Promise<ExperimentConfig> {
  if (source.config && source.preset) throw new IchnetError('CONFIG_INVALID', 'give either a config file or a preset, not both');
  let raw: Record<string, unknown> = {};
  let origin = 'defaults';
  if (source.preset) {
    const file = join(packageRoot, 'presets', `${source.preset}.yaml`);
    if (!existsSync(file)) throw new IchnetError('CONFIG_INVALID', `unknown preset '${source.preset}'; presets: ${presetNames().join(', ')}`);
    raw = await readConfigFile(file);
    origin = `preset ${source.preset}`;
  } else if (source.config) {
    raw = await readConfigFile(source.config);
    origin = source.config;
  }
  for (const [key, value] of Object.entries(source.base ?? {})) applyOverride(raw, `${key}=${JSON.stringify(value)}`);
  for (const s of source.set ?? []) applyOverride(raw, s);
  const parsed = parseExperimentConfig(raw);
  if (!parsed.success) throw new IchnetError('CONFIG_INVALID', `invalid config (${origin}):\n${formatIssues(parsed.error)}`);
  const stages = parsed.data.stages;
  const epochsSet = (source.set ?? []).find((s) => s.split('=')[0]?.trim() === 'train.epochs');
  if (epochsSet && stages.length > 0) {
    // With stages, each stage's own epochs count: a silently ignored train.epochs would mislead.
    const list = stages.map((st, i) => `stages.${i}.epochs=${st.epochs} (${st.name})`).join(', ');
    throw new IchnetError('CONFIG_INVALID', `--set ${epochsSet}: ${origin} trains in stages, so train.epochs is not used; set ${list}, or stages=[] to train in one stage`);
  }
  return parsed.data;
}

/** The config as YAML, for `config.yaml` in the run directory. */
export function configToYaml(config: ExperimentConfig): string {
  return YAML.stringify(config);
}
