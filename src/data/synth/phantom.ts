/**
 * Synthetic head-CT phantoms in Hounsfield units with the course's five hemorrhage types.
 *
 * A patient is an axial series from the skull base (slice 0) to the vertex. Each slice is
 * rendered analytically: air, scalp, a skull ring (dense tables around a diploe, thickness varying
 * with angle), cerebrospinal-fluid spaces (a rim under the inner table, cortical sulci that
 * continue from slice to slice, the interhemispheric and Sylvian fissures, basal cisterns, the
 * lateral/third/fourth ventricles), grey and white matter with deep grey nuclei, skull-base bone
 * and sinus air in the lowest slices, occasional calcifications — all with partial-volume edges.
 * Lesions are 3-D objects spanning a run of adjacent slices, tapering at the run's ends:
 * epidural (biconvex lens against the inner table), subdural (crescent along the inner table),
 * subarachnoid (blood filling sulci/fissures/cisterns), intraparenchymal (irregular blob with an
 * oedema rim) and intraventricular (layering or casting blood in a ventricle).
 *
 * Labels are computed from the drawn pixels: a slice's label for a type is 1 iff some lesion of
 * that type changed at least `minLesionArea` pixels of that slice (lesions that would change fewer
 * are not drawn at all), and every drawn pixel differs from the lesion-free render by ≥ 2 HU.
 * Lesion masks never overlap (earlier types in the draw order own their pixels), and they are
 * computed the same way whatever `drawLesions` says, so a render with only some types drawn
 * differs from the lesion-free render exactly on those types' labelled slices.
 *
 * Anatomy, lesions and noise come from three independent seeded streams, so switching lesions
 * off leaves the anatomy and the noise untouched.
 *
 * The code lives in modules named for what they hold; this entry re-exports the public API:
 *
 * - `patient.ts`: {@link generatePatient} (options, seeded streams, per-slice passes), {@link patientSeed};
 * - `anatomy.ts`: a patient's sampled anatomy (shape, pose, thicknesses, densities, sulci);
 * - `head.ts`: a slice's render: outline, scalp and skull around the brain;
 * - `brain.ts`: parenchyma, CSF spaces, calcifications, skull-base bone and sinus air;
 * - `lesions.ts`: which lesions a patient has and their parameters ({@link DEFAULT_PREVALENCE});
 * - `lesion-masks.ts`: each lesion type's mask on a slice, and which type owns shared pixels;
 * - `noise.ts`: cupping, streaks and correlated noise;
 * - `tissue.ts`: the {@link Tissue} classes; `geometry.ts`: shared geometry helpers;
 *   `slice-geometry.ts`: the per-slice buffers; `display-window.ts`: {@link windowToUint8}.
 *
 * @packageDocumentation
 */
export { windowToUint8 } from './display-window.js';
export { DEFAULT_PREVALENCE, type LesionType } from './lesions.js';
export { generatePatient, patientSeed, type LesionSummary, type Phantom, type PhantomOptions } from './patient.js';
export { Tissue, type TissueClass } from './tissue.js';
