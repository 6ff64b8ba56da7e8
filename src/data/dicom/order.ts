/** Anatomical slice order from DICOM headers. */
import type { DicomMeta } from './read.js';

/**
 * The position of a slice along its series' normal: ImagePositionPatient projected on the cross
 * product of the ImageOrientationPatient row and column directions (z for axial slices). Falls
 * back to InstanceNumber when the geometry is absent; undefined when neither is present.
 */
export function slicePosition(meta: DicomMeta): number | undefined {
  const ipp = meta.imagePositionPatient;
  if (ipp) {
    const o = meta.imageOrientationPatient ?? [1, 0, 0, 0, 1, 0];
    const normal = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
    return ipp[0] * (normal[0] as number) + ipp[1] * (normal[1] as number) + ipp[2] * (normal[2] as number);
  }
  return meta.instanceNumber;
}

/** Indices that sort `metas` by position (stable; slices without one keep their place at the end). */
export function positionOrder(metas: DicomMeta[]): number[] {
  const keyed = metas.map((m, i) => ({ i, z: slicePosition(m) }));
  return keyed
    .sort((a, b) => (a.z === undefined ? (b.z === undefined ? a.i - b.i : 1) : b.z === undefined ? -1 : a.z - b.z || a.i - b.i))
    .map((k) => k.i);
}
