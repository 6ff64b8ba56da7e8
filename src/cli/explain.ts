/** `ichnet explain`: Grad-CAM overlays and raw maps for one patient (series) of a dataset or a DICOMweb server. */
import { resolve } from 'node:path';

import { dataSchema } from '../config/data-schema.js';
import { openDataset } from '../data/datasets/index.js';
import { patientGradCam } from '../explain/grad-cam.js';
import { writeExplanation, type OverlayChoice } from '../explain/write.js';
import { IchnetError } from '../errors/ichnet-error.js';
import { openCheckpoint } from '../train/checkpoint.js';
import { openInput, type InputArgs } from './input.js';

export interface ExplainArgs extends InputArgs {
  checkpoint: string;
  /** Patient (series) id, or a Study Instance UID (every series of the study). */
  patient: string;
  out: string;
  overlays: OverlayChoice;
  device?: string;
}

export async function explainCommand(args: ExplainArgs): Promise<number> {
  const opened = await openCheckpoint(args.checkpoint, args.device ? { device: args.device } : {});
  try {
    const input = await openInput(args.dicomweb !== undefined && !args.study?.length && !args.qido?.length ? { ...args, study: [args.patient] } : args);
    try {
      const dataset = await openDataset(dataSchema.parse({ ...input.data, format: input.data.format ?? 'auto' }));
      const chosen = dataset.patients.filter((p) => p.id === args.patient || p.series?.studyInstanceUid === args.patient);
      if (chosen.length === 0) {
        const some = dataset.patients.slice(0, 5).map((p) => p.id).join(', ');
        throw new IchnetError('USAGE', `--patient ${args.patient}: no such patient, series or study in ${input.source} (it has ${dataset.patients.length}: ${some}${dataset.patients.length > 5 ? ', …' : ''})`);
      }
      const { labels, thresholds } = opened.state;
      const window = (opened.config.prep.windows[0] ?? [40, 80]) as [number, number];
      for (const patient of chosen) {
        const cam = await patientGradCam(opened.session, patient, { labels: labels.length, maxSlices: opened.config.train.eval_max_slices });
        const out = chosen.length === 1 ? args.out : resolve(args.out, patient.id);
        const overlays = await writeExplanation(out, cam, { labels, thresholds, window, checkpoint: resolve(args.checkpoint) }, args.overlays);
        console.log(`${out}: ${patient.slices.length} slices × ${labels.length} labels of ${patient.id}: maps.npy (${cam.height}×${cam.width} per map), ${overlays.length} overlays, explain.json`);
      }
    } finally {
      await input.close();
    }
  } finally {
    await opened.session.close();
  }
  return 0;
}
