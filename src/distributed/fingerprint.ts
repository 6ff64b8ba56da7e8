/**
 * What every rank of a job must agree on: the experiment config as sorted `key=value` lines,
 * without the keys that may differ between machines (paths, threads, device). The native
 * rendezvous compares the lines of every rank with rank 0's and names the first key that differs.
 */

/** Keys that may differ between ranks: where things are on each machine and how many cores it has. */
const PER_MACHINE = new Set(['out', 'threads', 'device', 'data.root', 'data.cache_dir', 'data.labels_csv', 'data.images_dir', 'train.pretrained']);

function flatten(value: unknown, prefix: string, out: string[]): void {
  if (PER_MACHINE.has(prefix)) return;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const key of Object.keys(value as Record<string, unknown>).sort()) {
      flatten((value as Record<string, unknown>)[key], prefix ? `${prefix}.${key}` : key, out);
    }
    return;
  }
  if (value !== undefined) out.push(`${prefix}=${JSON.stringify(value)}`);
}

/** The `key=value` lines (sorted by key) that must be equal on every rank. */
export function configFingerprint(config: object): string {
  const lines: string[] = [];
  flatten(config, '', lines);
  return lines.join('\n');
}
