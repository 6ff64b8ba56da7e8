/** Submission and summary formats on hand-made probabilities (no model needed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RSNA_LABELS } from '../src/index.js';
import { rsnaSubmissionCsv } from '../src/train/predictions.js';
import { predictionSummary } from '../src/train/summary.js';
import type { PatientRecord } from '../src/data/types.js';

const patient: PatientRecord = { id: 'P', slices: [{ id: 'ID_aa', path: '/a' }, { id: '1.2.3', path: '/b' }] };

describe('RSNA submission', () => {
  it("uses an RSNA model's own any, in the challenge's subtype order", () => {
    // Model labels in RSNA order; slice 0 has any (0.9) above every subtype, as a model may.
    const probs = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.25, 0, 0, 0, 0, 0.125]);
    const csv = rsnaSubmissionCsv([...RSNA_LABELS], [patient], new Map([['P', probs]]));
    assert.equal(
      csv,
      [
        'ID,Label',
        'ID_aa_epidural,0.1', 'ID_aa_intraparenchymal,0.2', 'ID_aa_intraventricular,0.3', 'ID_aa_subarachnoid,0.4', 'ID_aa_subdural,0.5', 'ID_aa_any,0.9',
        'ID_1.2.3_epidural,0.25', 'ID_1.2.3_intraparenchymal,0', 'ID_1.2.3_intraventricular,0', 'ID_1.2.3_subarachnoid,0', 'ID_1.2.3_subdural,0', 'ID_1.2.3_any,0.125',
      ].join('\n') + '\n',
    );
  });

  it("maps a course model's labels to the subtypes they name and takes any as their maximum", () => {
    // ich, ivh, sah, sdh, edh
    const probs = Float32Array.from([0.5, 0.25, 0.125, 0.75, 0.0625, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN]);
    const csv = rsnaSubmissionCsv(['ich', 'ivh', 'sah', 'sdh', 'edh'], [patient], new Map([['P', probs]]));
    assert.deepEqual(csv.trim().split('\n'), [
      'ID,Label',
      'ID_aa_epidural,0.0625', 'ID_aa_intraparenchymal,0.5', 'ID_aa_intraventricular,0.25', 'ID_aa_subarachnoid,0.125', 'ID_aa_subdural,0.75', 'ID_aa_any,0.75',
    ]); // the unpredicted slice (NaN) has no rows
  });

  it('refuses labels that name no RSNA subtype', () => {
    assert.throws(() => rsnaSubmissionCsv(['ich', 'tumour'], [], new Map()), /tumour name no RSNA subtype/);
    assert.throws(() => rsnaSubmissionCsv(['ich'], [], new Map()), /no label for the RSNA subtype epidural/);
  });
});

describe('per-study summary', () => {
  it('reports patient-level maxima, thresholds and the slices at or above them, most probable first', () => {
    const three: PatientRecord = { id: 'S', slices: ['a', 'b', 'c'].map((id) => ({ id, path: `/${id}` })), series: { studyInstanceUid: '1.2', seriesInstanceUid: '1.2.3' } };
    // labels x, y; thresholds 0.5, 0.9
    const probs = Float32Array.from([0.6, 0.1, 0.7, 0.2, 0.5, 0.3]);
    const s = predictionSummary({ checkpoint: '/run', labels: ['x', 'y'], thresholds: [0.5, 0.9], patients: [three], probs: new Map([['S', probs]]), skipped: [], createdAt: new Date(0) });
    assert.deepEqual(s.thresholds, { x: 0.5, y: 0.9 });
    const study = s.studies[0];
    assert.ok(study);
    assert.deepEqual(study.series, three.series);
    assert.deepEqual(study.positive, ['x']);
    assert.deepEqual(study.labels.x, {
      probability: 0.7,
      threshold: 0.5,
      positive: true,
      positiveSlices: 3,
      drivingSlices: [
        { id: 'b', index: 1, probability: 0.7 },
        { id: 'a', index: 0, probability: 0.6 },
        { id: 'c', index: 2, probability: 0.5 },
      ],
    });
    assert.deepEqual(study.labels.y, { probability: 0.3, threshold: 0.9, positive: false, positiveSlices: 0, drivingSlices: [] });
  });
});
