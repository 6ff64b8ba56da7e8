/** CSV reading and column auto-detection shared by the dataset readers. */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
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

/** Label columns: the ones named, else every remaining column whose values are all 0/1. */
export function labelColumns(table: Table, wanted: string[] | undefined, exclude: string[]): string[] {
  if (wanted) {
    for (const c of wanted) if (!table.columns.includes(c)) throw new IchnetError('DATA_INVALID', `${table.path}: no label column '${c}'; columns are ${table.columns.join(', ')}`);
    return wanted;
  }
  const found = table.columns.filter((c) => !exclude.includes(c) && table.rows.every((r) => r[c] === '0' || r[c] === '1'));
  if (found.length === 0) throw new IchnetError('DATA_INVALID', `${table.path}: no 0/1 label columns found; name them with data.label_columns`);
  return found;
}

/** Parses a 0/1 cell, naming the row on anything else. */
export function binary(table: Table, row: number, column: string): 0 | 1 {
  const v = table.rows[row]?.[column];
  if (v === '0' || v === '1') return v === '1' ? 1 : 0;
  throw new IchnetError('DATA_INVALID', `${table.path}: row ${row + 2}, column ${column}: expected 0 or 1, got '${v}'`);
}

/** Natural order ("slice2" before "slice10"). */
export const naturalCompare = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare;
