/** CSV reading and column auto-detection shared by the dataset readers. */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';

import { COURSE_LABELS, RSNA_LABELS } from '../../config/labels.js';
import { IchnetError } from '../../errors/ichnet-error.js';

export interface Table {
  path: string;
  columns: string[];
  rows: Record<string, string>[];
}

export async function readCsv(path: string): Promise<Table> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new IchnetError('DATA_UNREADABLE', `${path}: cannot read the labels CSV (${(e as Error).message})`);
  }
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (e) {
    throw new IchnetError('DATA_UNREADABLE', `${path}: not a valid CSV (${(e as Error).message})`);
  }
  const columns = rows.length > 0 ? Object.keys(rows[0] as object) : text.split(/\r?\n/)[0]?.split(',').map((c) => c.trim()) ?? [];
  return { path, columns, rows };
}

/** The column the user named (checked), or the first candidate present (case-insensitive). */
export function pickColumn(table: Table, wanted: string | undefined, candidates: string[], role: string): string {
  if (wanted !== undefined) {
    if (!table.columns.includes(wanted)) throw new IchnetError('DATA_INVALID', `${table.path}: no column '${wanted}' (${role}); columns are ${table.columns.join(', ')}`);
    return wanted;
  }
  for (const c of candidates) {
    const found = table.columns.find((col) => col.toLowerCase() === c.toLowerCase());
    if (found) return found;
  }
  throw new IchnetError('DATA_INVALID', `${table.path}: cannot tell which column is the ${role} (tried ${candidates.join(', ')}); name it in the data config`);
}

/** Label names of the known layouts, recognised by header wherever they stand. */
const KNOWN_LABELS = new Set<string>([...COURSE_LABELS, ...RSNA_LABELS].map((l) => l.toLowerCase()));

/**
 * Label columns: the ones named, else — decided by header and position, never by the values —
 * every column after the identifying ones (patient, slice, path, order) plus any column named like
 * a known label. Their cells are checked by {@link labelRow}, so a stray value is an error naming
 * its row and column instead of silently turning a label column into a non-label one.
 */
export function labelColumns(table: Table, wanted: string[] | undefined, identifying: string[]): string[] {
  if (wanted) {
    for (const c of wanted) if (!table.columns.includes(c)) throw new IchnetError('DATA_INVALID', `${table.path}: no label column '${c}'; columns are ${table.columns.join(', ')}`);
    return wanted;
  }
  const last = Math.max(-1, ...identifying.map((c) => table.columns.indexOf(c)));
  const found = table.columns.filter((c, i) => !identifying.includes(c) && (i > last || KNOWN_LABELS.has(c.toLowerCase())));
  if (found.length === 0) {
    throw new IchnetError('DATA_INVALID', `${table.path}: no label columns (expected them after ${identifying.join(', ')}); name them with data.label_columns`);
  }
  return found;
}

/**
 * One row's labels, or the reason it has none: `row N, column C: expected 0 or 1, got 'x'`
 * (rows counted as in a spreadsheet, the header being row 1).
 */
export function labelRow(table: Table, row: number, columns: string[]): Uint8Array | string {
  const out = new Uint8Array(columns.length);
  for (const [l, column] of columns.entries()) {
    const v = table.rows[row]?.[column];
    if (v !== '0' && v !== '1') {
      return `row ${row + 2}, column ${column}: expected 0 or 1, got '${v ?? ''}' (a label column; if it is not one, list the label columns in data.label_columns)`;
    }
    out[l] = v === '1' ? 1 : 0;
  }
  return out;
}

/** Natural order ("slice2" before "slice10"). */
export const naturalCompare = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare;
