/**
 * The `manifest` layout: one CSV listing every slice — patient, slice order, file path (relative
 * to the CSV's folder or absolute) and one 0/1 column per label.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import type { DataConfig } from '../../config/data-schema.js';
import type { Dataset, PatientRecord } from '../types.js';
import { labelColumns, labelRow, naturalCompare, pickColumn, readCsv, type Table } from './csv.js';
import { Problems } from './problems.js';

function optionalColumn(table: Table, wanted: string | undefined, candidates: string[], role: string): string | undefined {
  try {
    return pickColumn(table, wanted, candidates, role);
  } catch (e) {
    if (wanted !== undefined) throw e;
    return undefined;
  }
}

export async function readManifest(config: DataConfig): Promise<Dataset> {
  const csvPath = resolve(config.root, config.labels_csv ?? '');
  const table = await readCsv(csvPath);
  const base = dirname(csvPath);
  const problems = new Problems(config.on_error);
  const patientCol = pickColumn(table, config.patient_column, ['patient', 'patient_id', 'series', 'dirname', 'study'], 'patient');
  const pathCol = pickColumn(table, config.path_column, ['path', 'file', 'filename', 'image'], 'slice path');
  const orderCol = optionalColumn(table, config.order_column, ['order', 'slice_index', 'index', 'instance', 'position'], 'slice order');
  const sliceCol = optionalColumn(table, config.slice_column, ['slice', 'slice_id', 'ID', 'id'], 'slice id');
  const exclude = [patientCol, pathCol, orderCol, sliceCol].filter((c): c is string => c !== undefined);
  const hasLabels = config.label_columns !== undefined || table.columns.some((c) => !exclude.includes(c));
  const labelNames = hasLabels ? labelColumns(table, config.label_columns, exclude) : [];
  const L = labelNames.length;

  const byPatient = new Map<string, number[]>();
  const labelsOf = new Map<number, Uint8Array>();
  const firstRow = new Map<string, number>();
  table.rows.forEach((row, i) => {
    const path = row[pathCol] ?? '';
    const full = isAbsolute(path) ? path : resolve(base, path);
    const id = row[patientCol] ?? '';
    const slice = sliceCol ? (row[sliceCol] ?? '') : full;
    const key = `${id}\u0000${slice}`;
    const seen = firstRow.get(key);
    if (seen !== undefined) {
      problems.report(csvPath, `row ${i + 2}: slice '${slice}' of patient ${id} is listed again (first at row ${seen + 2}); each slice must appear once`, 'DATA_INVALID');
      return;
    }
    firstRow.set(key, i);
    if (!existsSync(full)) {
      problems.report(full, `slice listed at row ${i + 2} of ${csvPath} does not exist`);
      return;
    }
    if (L > 0) {
      const labels = labelRow(table, i, labelNames);
      if (typeof labels === 'string') {
        problems.report(csvPath, labels, 'DATA_INVALID');
        return;
      }
      labelsOf.set(i, labels);
    }
    byPatient.set(id, [...(byPatient.get(id) ?? []), i]);
  });

  const patients: PatientRecord[] = [];
  for (const [id, rows] of byPatient) {
    if (orderCol) {
      const key = (r: number) => table.rows[r]?.[orderCol] ?? '';
      rows.sort((a, b) => {
        const [x, y] = [Number(key(a)), Number(key(b))];
        return Number.isFinite(x) && Number.isFinite(y) ? x - y : naturalCompare(key(a), key(b));
      });
    }
    const slices = rows.map((r) => {
      const path = table.rows[r]?.[pathCol] ?? '';
      return { id: (sliceCol && table.rows[r]?.[sliceCol]) || path, path: isAbsolute(path) ? path : resolve(base, path) };
    });
    const record: PatientRecord = { id, slices };
    if (L > 0) {
      const labels = new Uint8Array(rows.length * L);
      rows.forEach((r, s) => labels.set(labelsOf.get(r) as Uint8Array, s * L));
      record.labels = labels;
    }
    patients.push(record);
  }
  return { format: 'manifest', root: csvPath, labelNames, patients, skipped: problems.skipped };
}
