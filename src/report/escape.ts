/** Escaping and number formatting shared by every part of the report. */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes a string for HTML/SVG text and for quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** True for a finite number (not NaN, not ±Infinity, not null/undefined). */
export function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A metric in [0, 1] with fixed decimals, or "—" when missing/non-finite. */
export function fmtMetric(v: unknown, digits = 3): string {
  return isNum(v) ? v.toFixed(digits) : '—';
}

/** A count with thousands separators, or "—". */
export function fmtCount(v: unknown): string {
  return isNum(v) ? Math.round(v).toLocaleString('en-US') : '—';
}

/** A general number: integers as they are, others with up to 4 significant digits. */
export function fmtNumber(v: unknown): string {
  if (!isNum(v)) return '—';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** Seconds as "1 h 02 min 05 s" / "3 min 20 s" / "12.3 s". */
export function fmtDuration(seconds: unknown): string {
  if (!isNum(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h} h ${pad(m)} min ${pad(r)} s` : `${m} min ${pad(r)} s`;
}
