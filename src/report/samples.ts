/** Sample slices: raw pixels → PNG, and the grid of slices with true and predicted labels. */
import sharp from 'sharp';

import { escapeHtml, isNum } from './escape.js';
import type { SampleSlice } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/**
 * Encodes raw 8-bit pixels (row-major, channels interleaved) as a PNG, e.g. the windowed slice the
 * model saw, for {@link SampleSlice.png}.
 */
export async function slicePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Uint8Array> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new IchnetError('INVALID_ARGUMENT', `slicePng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3) throw new IchnetError('INVALID_ARGUMENT', `slicePng: channels must be 1 or 3, got ${String(channels)}`);
  const need = width * height * channels;
  if (pixels.length !== need) {
    throw new IchnetError('INVALID_ARGUMENT', `slicePng: ${width}×${height}×${channels} needs ${need} bytes, got ${pixels.length}`);
  }
  const input = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const raw = sharp(input, { raw: { width, height, channels } });
  // Without an explicit colourspace sharp would store one grey channel as RGB.
  const png = await (channels === 1 ? raw.toColourspace('b-w') : raw).png({ compressionLevel: 9 }).toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** The MIME type of an encoded image, from its signature (PNG unless it is clearly JPEG/WebP). */
export function imageMime(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46 && bytes[8] === 0x57) return 'image/webp';
  return 'image/png';
}

/** A `data:` URI holding the image bytes in base64. */
export function dataUri(bytes: Uint8Array): string {
  return `data:${imageMime(bytes)};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

/** How one label of one slice came out. */
export type Outcome = 'tp' | 'fp' | 'fn' | 'tn';

/** The outcome of each label: predicted positive when prob ≥ threshold (default 0.5). */
export function outcomes(s: SampleSlice, nLabels: number, thresholds: ReadonlyArray<number>): Outcome[] {
  const out: Outcome[] = [];
  for (let i = 0; i < nLabels; i++) {
    const t = thresholds[i];
    const p = s.probs[i];
    const pred = isNum(p) && p >= (isNum(t) ? t : 0.5);
    const truth = s.truth[i] === 1;
    out.push(truth ? (pred ? 'tp' : 'fn') : pred ? 'fp' : 'tn');
  }
  return out;
}

const CHIP_TEXT: Record<Outcome, string> = {
  tp: '✓ found',
  fn: '✗ missed',
  fp: '✗ false alarm',
  tn: '',
};

const CHIP_TITLE: Record<Outcome, string> = {
  tp: 'true positive: present and predicted',
  fn: 'false negative: present but not predicted',
  fp: 'false positive: predicted but not present',
  tn: 'true negative: absent and not predicted',
};

/** The legend explaining the chips. */
export function sampleLegend(): string {
  return `<p class="legend-row"><span class="chip tp">label ✓</span> present and predicted <span class="chip fn">label ✗</span> present, missed <span class="chip fp">label ✗</span> predicted, not present <span class="chip tn">label</span> absent, not predicted · number = predicted probability</p>`;
}

/** One card: the image, its patient / slice, and a chip per label. */
export function sampleCard(s: SampleSlice, labels: ReadonlyArray<string>, thresholds: ReadonlyArray<number>): string {
  const oc = outcomes(s, labels.length, thresholds);
  const wrong = oc.filter((o) => o === 'fp' || o === 'fn').length;
  const positives = oc.filter((o) => o === 'tp' || o === 'fn').length;
  const status = wrong === 0 ? '<span class="verdict ok">all correct</span>' : `<span class="verdict bad">${wrong} error${wrong === 1 ? '' : 's'}</span>`;
  const chips = labels.map((label, i) => {
    const o = oc[i] as Outcome;
    const p = s.probs[i];
    const t = thresholds[i];
    const title = `${label}: ${CHIP_TITLE[o]}; p = ${isNum(p) ? p.toFixed(3) : '—'}, threshold ${isNum(t) ? t.toFixed(2) : '0.50'}`;
    const mark = o === 'tp' ? ' ✓' : o === 'fn' || o === 'fp' ? ' ✗' : '';
    return `<li class="chip ${o}" title="${escapeHtml(title)}"><span class="name">${escapeHtml(label)}${mark}</span><span class="p">${isNum(p) ? p.toFixed(2) : '—'}</span>${o !== 'tn' ? `<span class="sr">${CHIP_TEXT[o]}</span>` : ''}</li>`;
  });
  const w = isNum(s.width) && s.width > 0 ? Math.round(s.width) : 224;
  const h = isNum(s.height) && s.height > 0 ? Math.round(s.height) : 224;
  const alt = `Slice ${s.slice} of patient ${s.patient}`;
  const cls = wrong === 0 ? 'sample ok' : 'sample bad';
  const cams = (s.explanations ?? [])
    .map((e) => `<figure class="cam"><img src="${dataUri(e.png)}" width="${w}" height="${h}" alt="${escapeHtml(`Grad-CAM of ${e.label} on ${alt.toLowerCase()}`)}"/><figcaption>${escapeHtml(e.label)}</figcaption></figure>`)
    .join('');
  return `<figure class="${cls}"><div class="img"><img src="${dataUri(s.png)}" width="${w}" height="${h}" alt="${escapeHtml(alt)}" loading="eager"/></div>${cams ? `<div class="cams" title="Grad-CAM: where the model looked for each label">${cams}</div>` : ''}
<figcaption><div class="ids"><span class="patient" title="patient">${escapeHtml(s.patient)}</span><span class="slice" title="slice">${escapeHtml(s.slice)}</span></div>
<div class="status">${positives === 0 ? '<span class="truth-none">no hemorrhage</span>' : `<span class="truth">${positives} true label${positives === 1 ? '' : 's'}</span>`}${status}</div>
<ul class="chips">${chips.join('')}</ul></figcaption></figure>`;
}

/** The grid of sample slices, in the order given, under a legend of the chips. */
export function sampleGrid(samples: ReadonlyArray<SampleSlice>, labels: ReadonlyArray<string>, thresholds: ReadonlyArray<number>): string {
  if (samples.length === 0) return '<p class="empty">No sample slices were recorded.</p>';
  return `${sampleLegend()}<div class="samples">${samples.map((s) => sampleCard(s, labels, thresholds)).join('\n')}</div>`;
}
