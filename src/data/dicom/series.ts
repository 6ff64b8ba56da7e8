/**
 * DICOM files as series: grouping by StudyInstanceUID/SeriesInstanceUID, anatomical order, and the
 * series a slice classifier cannot use (localisers, non-axial reconstructions, single images).
 */
import { positionOrder } from './order.js';
import type { DicomMeta } from './read.js';

/** Header fields series grouping and screening read. */
export type SeriesMeta = Pick<DicomMeta, 'imagePositionPatient' | 'imageOrientationPatient' | 'instanceNumber'> &
  Partial<Pick<DicomMeta, 'imageType' | 'modality' | 'rows' | 'columns' | 'numberOfFrames'>>;

/** One series: its UIDs and its members in anatomical order. */
export interface Series<T> {
  study: string;
  series: string;
  items: T[];
}

/**
 * Groups `items` by study and series UID (in order of first appearance) and orders each series by
 * position along its slice normal (src/data/dicom/order.ts).
 */
export function groupSeries<T>(items: T[], uids: (item: T) => { study: string; series: string }, meta: (item: T) => SeriesMeta): Series<T>[] {
  const groups = new Map<string, Series<T>>();
  for (const item of items) {
    const { study, series } = uids(item);
    const key = `${study}\0${series}`;
    const group = groups.get(key) ?? { study, series, items: [] };
    group.items.push(item);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ ...g, items: positionOrder(g.items.map((i) => meta(i) as DicomMeta)).map((k) => g.items[k] as T) }));
}

/** Largest angle, in degrees, between a slice's normal and the patient's head–foot axis for an axial series (gantry tilt stays well below it). */
export const MAX_AXIAL_TILT_DEGREES = 45;

/** Why one image cannot be a slice of an axial series, or undefined when it can. */
export function imageProblem(meta: SeriesMeta): string | undefined {
  if (meta.imageType?.includes('LOCALIZER')) return 'localiser (scout) image: Image Type (0008,0008) says LOCALIZER';
  if (meta.modality !== undefined && meta.modality !== 'CT') return `modality ${meta.modality}, not CT`;
  if ((meta.numberOfFrames ?? 1) > 1) return `multi-frame image (${meta.numberOfFrames} frames): only single-frame CT slices are read`;
  const o = meta.imageOrientationPatient;
  if (o) {
    const nz = o[0] * o[4] - o[1] * o[3];
    const norm = Math.hypot(o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], nz);
    const tilt = (Math.acos(Math.min(1, Math.abs(nz) / (norm || 1))) * 180) / Math.PI;
    if (tilt > MAX_AXIAL_TILT_DEGREES) return `not axial: the slice normal is ${tilt.toFixed(0)}° from the head–foot axis (coronal or sagittal)`;
  }
  return undefined;
}

/**
 * Why a series (its usable images, in order) cannot be classified, or undefined when it can: a
 * single image, or images of different sizes.
 */
export function seriesProblem(metas: SeriesMeta[]): string | undefined {
  if (metas.length < 2) return `${metas.length === 1 ? 'a single image' : 'no usable image'}: a series needs at least 2 axial slices`;
  const size = (m: SeriesMeta) => `${m.columns}×${m.rows}`;
  const first = size(metas[0] as SeriesMeta);
  const odd = metas.find((m) => size(m) !== first);
  if (odd) return `images of different sizes (${first} and ${size(odd)})`;
  return undefined;
}
