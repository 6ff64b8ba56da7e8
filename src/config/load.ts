/** Reading experiment configs: YAML/JSON files, shipped presets and `key=value` overrides. */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';

import { packageRoot } from '../native/addon.js';
import { experimentSchema, type ExperimentConfig } from './experiment-schema.js';
import { formatIssues } from './session-schema.js';

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
    throw new Error(`${path}: cannot read the config (${(e as Error).message})`);
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: expected a mapping of settings at the top level`);
  return value as Record<string, unknown>;
}

/**
 * Applies `a.b.c=value` to a plain object. Values are read as YAML scalars or flow collections,
 * so `3e-4`, `true`, `none`, `[8, 8]` and `{kind: cosine}` all mean what they look like.
 */
export function applyOverride(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new Error(`--set ${assignment}: expected key=value, e.g. --set optim.lr=3e-4`);
  const keys = assignment.slice(0, eq).trim().split('.');
  let value: unknown;
  try {
    value = YAML.parse(assignment.slice(eq + 1));
  } catch {
    value = assignment.slice(eq + 1);
  }
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) node[key] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) throw new Error(`--set ${assignment}: '${key}' is not a section`);
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

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

/** Resolves a complete experiment config; throws an Error listing every bad key. */
export async function loadExperimentConfig(source: ConfigSource = {}): Promise<ExperimentConfig> {
  if (source.config && source.preset) throw new Error('give either a config file or a preset, not both');
  let raw: Record<string, unknown> = {};
  let origin = 'defaults';
  if (source.preset) {
    const file = join(packageRoot, 'presets', `${source.preset}.yaml`);
    if (!existsSync(file)) throw new Error(`unknown preset '${source.preset}'; presets: ${presetNames().join(', ')}`);
    raw = await readConfigFile(file);
    origin = `preset ${source.preset}`;
  } else if (source.config) {
    raw = await readConfigFile(source.config);
    origin = source.config;
  }
  for (const [key, value] of Object.entries(source.base ?? {})) applyOverride(raw, `${key}=${JSON.stringify(value)}`);
  for (const s of source.set ?? []) applyOverride(raw, s);
  const parsed = experimentSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid config (${origin}):\n${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** The config as YAML, for `config.yaml` in the run directory. */
export function configToYaml(config: ExperimentConfig): string {
  return YAML.stringify(config);
}
