/** Label sets the project knows by name. The single source of these names. */

/** The original course competition's five labels, in its CSV column order. */
export const COURSE_LABELS = ['ich', 'ivh', 'sah', 'sdh', 'edh'] as const;

/** RSNA Intracranial Hemorrhage Detection's six labels, in its CSV order (`any` last). */
export const RSNA_LABELS = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any'] as const;
