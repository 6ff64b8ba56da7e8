/**
 * Tissue classes of the synthetic phantom's per-pixel tissue map, and the CSF coverage from which
 * a pixel is classed as CSF.
 */

/** Tissue classes of the per-pixel tissue map returned with `withTissue: true`. */
export const Tissue = {
  AIR: 0,
  SCALP: 1,
  BONE: 2,
  WHITE_MATTER: 3,
  GREY_MATTER: 4,
  DEEP_GREY: 5,
  /** The thin subarachnoid CSF layer under the inner table. */
  CSF_RIM: 6,
  SULCUS: 7,
  /** Interhemispheric fissure (with the falx along its middle). */
  FISSURE: 8,
  CISTERN: 9,
  VENTRICLE: 10,
  CALCIFICATION: 11,
  /** Air in the skull base's sinuses. */
  SINUS: 12,
} as const;

/** A value of {@link Tissue}. */
export type TissueClass = (typeof Tissue)[keyof typeof Tissue];

/**
 * CSF partial-volume coverage from which a pixel counts as CSF in the tissue map (lower than 1/2:
 * sub-pixel sulci still get CSF pixels, and subarachnoid blood only fills those).
 */
export const CSF_CLASS_COVERAGE = 0.35;
