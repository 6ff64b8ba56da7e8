/** Label sets the project knows by name. The single source of these names. */

/** The original course competition's five labels, in its CSV column order. */
export const COURSE_LABELS = ['ich', 'ivh', 'sah', 'sdh', 'edh'] as const;

/** RSNA Intracranial Hemorrhage Detection's six labels, in its CSV order (`any` last). */
export const RSNA_LABELS = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any'] as const;

/**
 * The RSNA subtype each course label names (`any` has no course counterpart): how a model trained on
 * the course's labels fills an RSNA submission.
 */
export const COURSE_TO_RSNA: Readonly<Record<(typeof COURSE_LABELS)[number], (typeof RSNA_LABELS)[number]>> = {
  ich: 'intraparenchymal',
  ivh: 'intraventricular',
  sah: 'subarachnoid',
  sdh: 'subdural',
  edh: 'epidural',
};
