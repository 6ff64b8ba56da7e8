/** Metrics (docs/ARCHITECTURE.md §6) against scikit-learn 1.2 / NumPy on Debian's python3, and by hand. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { RSNA_LABELS } from '../src/config/labels.js';
import {
  averagePrecision,
  evaluateAll,
  fbetaScore,
  isRsnaLabels,
  patientLevel,
  patientLevelFromLengths,
  precisionRecallCurves,
  rocAuc,
  rsnaLogLoss,
  tuneThresholds,
  tuneThresholdsDetailed,
  type MetricsReport,
  type PatientSlices,
} from '../src/metrics/index.js';
import { runPython } from './helpers/oracle.js';
import { rng } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const TOL = 1e-9;

/** Standard normal via Box–Muller. */
function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

interface CaseSpec {
  name: string;
  n: number;
  seed: number;
  /** Positive rate per label (0 = no positives, 1 = all positive). */
  prevalence: number[];
  /** Quantise probabilities to multiples of 1/ties (exact ties) when set. */
  ties?: number;
  /** Put exact 0s and 1s among the probabilities (log-loss clipping). */
  extremes?: boolean;
  /** Label names (RSNA's six, possibly permuted, or others). */
  labels: readonly string[];
  /** Brute-force threshold tuning with sklearn's fbeta_score itself (small N only). */
  sklearnBrute?: boolean;
}

interface Case extends CaseSpec {
  probs: Float32Array;
  targets: Uint8Array;
  thresholds: number[];
  lengths: number[];
}

function makeCase(spec: CaseSpec): Case {
  const r = rng(spec.seed);
  const L = spec.prevalence.length;
  const probs = new Float32Array(spec.n * L);
  const targets = new Uint8Array(spec.n * L);
  for (let i = 0; i < spec.n; i++) {
    for (let l = 0; l < L; l++) {
      const y = r() < (spec.prevalence[l] as number) ? 1 : 0;
      let p = 1 / (1 + Math.exp(-(1.2 * (2 * y - 1) + 1.5 * gauss(r))));
      if (spec.ties) p = Math.round(p * spec.ties) / spec.ties;
      if (spec.extremes && r() < 0.05) p = r() < 0.5 ? 0 : 1;
      probs[i * L + l] = p;
      targets[i * L + l] = y;
    }
  }
  // Thresholds other than 0.5; one label's threshold is exactly one of its probabilities (>=).
  const thresholds = spec.prevalence.map(() => 0.15 + 0.7 * r());
  if (spec.n > 0) thresholds[2] = probs[Math.floor(r() * spec.n) * L + 2] as number;
  // Patients of 1–12 slices covering the rows in order.
  const lengths: number[] = [];
  for (let left = spec.n; left > 0; ) {
    const len = Math.min(left, 1 + Math.floor(r() * 12));
    lengths.push(len);
    left -= len;
  }
  return { ...spec, probs, targets, thresholds, lengths };
}

const rsna = [...RSNA_LABELS];
const permuted = ['any', 'subdural', 'epidural', 'subarachnoid', 'intraventricular', 'intraparenchymal'];
const specs: CaseSpec[] = [
  { name: 'N=1', n: 1, seed: 1, prevalence: [0, 1, 0.5, 0.5, 0.5, 0.5], labels: rsna, sklearnBrute: true },
  { name: 'N=2', n: 2, seed: 2, prevalence: [0, 1, 0.5, 0.2, 0.5, 0.7], labels: rsna, sklearnBrute: true },
  { name: 'N=5 ties', n: 5, seed: 3, prevalence: [0, 1, 0.4, 0.3, 0.5, 0.6], ties: 4, labels: rsna, sklearnBrute: true },
  { name: 'N=37', n: 37, seed: 4, prevalence: [0, 1, 0.05, 0.1, 0.3, 0.5], labels: permuted, sklearnBrute: true },
  { name: 'N=200 extremes', n: 200, seed: 5, prevalence: [0, 1, 0.02, 0.1, 0.3, 0.6], extremes: true, labels: rsna, sklearnBrute: true },
  { name: 'N=1000 heavy ties', n: 1000, seed: 6, prevalence: [0, 1, 0.03, 0.15, 0.4, 0.5], ties: 10, labels: rsna },
  { name: 'N=3000 sparse rows', n: 3000, seed: 7, prevalence: [0.01, 0.03, 0.02, 0.05, 0, 0.08], labels: ['ich', 'ivh', 'sah', 'sdh', 'edh', 'other'] },
  { name: 'N=5000', n: 5000, seed: 8, prevalence: [0, 1, 0.02, 0.1, 0.3, 0.5], labels: rsna },
  { name: 'N=5000 ties extremes', n: 5000, seed: 9, prevalence: [0.001, 1, 0.04, 0.12, 0.25, 0.45], ties: 64, extremes: true, labels: permuted },
];

/** The scikit-learn / NumPy side: reads the cases, prints one JSON document. */
const ORACLE = String.raw`
import json, sys, os, warnings
from fractions import Fraction
import numpy as np
from sklearn.metrics import (fbeta_score, precision_recall_fscore_support, multilabel_confusion_matrix,
    roc_auc_score, average_precision_score, precision_recall_curve, log_loss)
warnings.filterwarnings('ignore')
d = sys.argv[1]
manifest = json.load(open(os.path.join(d, 'manifest.json')))

def clean(x):
    if isinstance(x, dict): return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)): return [clean(v) for v in x]
    if isinstance(x, np.ndarray): return clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        return None if np.isnan(x) else float(x)
    if isinstance(x, (np.integer,)): return int(x)
    return x

def level(P, Y, thr, labels, curves):
    # Compare in double precision, as the TypeScript side does.
    pred = (P >= np.asarray(thr)[None, :]).astype(np.int64)
    out = {}
    for avg in ['micro', 'macro', 'samples']:
        p, r, f, _ = precision_recall_fscore_support(Y, pred, beta=2, average=avg, zero_division=1)
        out['f2_' + avg] = f
        assert f == fbeta_score(Y, pred, beta=2, average=avg, zero_division=1)
        out['precision_' + avg] = p
        out['recall_' + avg] = r
    p, r, f, s = precision_recall_fscore_support(Y, pred, beta=2, average=None, zero_division=1)
    out.update(f2=f, precision=p, recall=r, support=s)
    mcm = multilabel_confusion_matrix(Y, pred)
    out['counts'] = [dict(tp=m[1, 1], fp=m[0, 1], fn=m[1, 0], tn=m[0, 0]) for m in mcm]
    L = Y.shape[1]
    auc = [roc_auc_score(Y[:, l], P[:, l]) if len(np.unique(Y[:, l])) == 2 else np.nan for l in range(L)]
    valid = [l for l in range(L) if not np.isnan(auc[l])]
    out['auc'] = auc
    out['auc_macro'] = roc_auc_score(Y[:, valid], P[:, valid], average='macro') if len(valid) >= 2 else (auc[valid[0]] if valid else np.nan)
    out['ap'] = [average_precision_score(Y[:, l], P[:, l]) for l in range(L)]
    out['ap_macro'] = average_precision_score(Y, P, average='macro')
    if curves:
        out['pr'] = [dict(zip(['precision', 'recall', 'thresholds'], precision_recall_curve(Y[:, l], P[:, l]))) for l in range(L)]
    if sorted(labels) == sorted(['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any']):
        w = np.array([2.0 if n == 'any' else 1.0 for n in labels])
        q = np.clip(P, 1e-15, 1 - 1e-15)
        row = -(w[None, :] * (Y * np.log(q) + (1 - Y) * np.log(1 - q))).sum(axis=1) / w.sum()
        out['logloss'] = row.mean()
        # The competition's form: sklearn log_loss over the flattened (image, subtype) rows with weights
        # (clipped here: scikit-learn >= 1.5 dropped log_loss's eps and clips at machine epsilon instead).
        out['logloss_sklearn'] = log_loss(Y.ravel(), q.ravel(), sample_weight=np.tile(w, Y.shape[0]), labels=[0, 1])
    return out

def tune(P, Y, brute):
    """Per label: every distinct probability plus 'predict nothing' (the next float32 above the max)."""
    res = []
    for l in range(Y.shape[1]):
        p, y = P[:, l], Y[:, l]
        top = float(np.nextafter(np.float32(p.max()), np.float32(np.inf)))
        cands = np.concatenate([np.unique(p), [top]])
        if brute:
            f = np.array([fbeta_score(y, (p >= t).astype(np.int64), beta=2, zero_division=1) for t in cands])
        else:
            # Vectorised transcription of sklearn 1.2's precision/recall/F with zero_division=1.
            pred = p[None, :] >= cands[:, None]
            tp = (pred & (y[None, :] == 1)).sum(axis=1).astype(np.float64)
            ps = pred.sum(axis=1).astype(np.float64)
            ts = float(y.sum())
            prec = np.where(ps == 0, 1.0, tp / np.where(ps == 0, 1, ps))
            rec = np.full_like(tp, 1.0) if ts == 0 else tp / ts
            den = 4 * prec + rec
            den[den == 0] = 1
            f = 5 * prec * rec / den
            for t in cands[:: max(1, len(cands) // 25)]:  # spot-check the transcription against sklearn
                assert abs(fbeta_score(y, (p >= t).astype(np.int64), beta=2, zero_division=1) - f[np.searchsorted(cands, t)]) < 1e-12
        # Exact maximum (rational F2 = 5TP / (5TP + 4FN + FP), 1 for no positives predicted or true).
        P1 = int(y.sum())
        def exact(t):
            pr = p >= t
            tp_ = int((pr & (y == 1)).sum()); fp_ = int(pr.sum()) - tp_; fn_ = P1 - tp_
            if tp_ + fp_ + fn_ == 0: return Fraction(1)
            return Fraction(5 * tp_, 5 * tp_ + 4 * fn_ + fp_)
        near = np.where(f >= f.max() - 1e-12)[0]  # the exact maxima are among the float-best
        ex = {i: exact(cands[i]) for i in near}
        m = max(ex.values())
        best = max(cands[i] for i, v in ex.items() if v == m)
        res.append(dict(threshold=best, f2=f.max(), f2_at_best=fbeta_score(y, (p >= best).astype(np.int64), beta=2, zero_division=1)))
    return res

results = []
for c in manifest['cases']:
    n, L = c['n'], len(c['labels'])
    P = np.fromfile(os.path.join(d, c['name'] + '.probs'), dtype=np.float32).reshape(n, L).astype(np.float64)
    Y = np.fromfile(os.path.join(d, c['name'] + '.targets'), dtype=np.uint8).reshape(n, L).astype(np.int64)
    starts = np.cumsum([0] + c['lengths'][:-1])
    PP = np.maximum.reduceat(P, starts, axis=0)
    YY = np.maximum.reduceat(Y, starts, axis=0)
    results.append(dict(
        slice=level(P, Y, c['thresholds'], c['labels'], True),
        patient=level(PP, YY, c['thresholds'], c['labels'], False),
        patient_probs=PP.ravel(), patient_targets=YY.ravel(),
        tuned=tune(P, Y, c['brute'])))
with open(os.path.join(d, 'results.json'), 'w') as out:
    json.dump(clean(results), out)
print('ok')
`;

interface PyLevel {
  [k: string]: unknown;
  f2_micro: number;
  f2_macro: number;
  f2_samples: number;
  precision_micro: number;
  precision_macro: number;
  precision_samples: number;
  recall_micro: number;
  recall_macro: number;
  recall_samples: number;
  f2: number[];
  precision: number[];
  recall: number[];
  support: number[];
  counts: { tp: number; fp: number; fn: number; tn: number }[];
  auc: (number | null)[];
  auc_macro: number | null;
  ap: number[];
  ap_macro: number;
  pr?: { precision: number[]; recall: number[]; thresholds: number[] }[];
  logloss?: number;
  logloss_sklearn?: number;
}

interface PyResult {
  slice: PyLevel;
  patient: PyLevel;
  patient_probs: number[];
  patient_targets: number[];
  tuned: { threshold: number; f2: number; f2_at_best: number }[];
}

function close(actual: number | null | undefined, expected: number | null | undefined, what: string): void {
  if (expected === null || expected === undefined) {
    assert.ok(actual === null || actual === undefined || Number.isNaN(actual), `${what}: expected undefined (NaN/null), got ${actual}`);
    return;
  }
  assert.ok(typeof actual === 'number', `${what}: expected ${expected}, got ${actual}`);
  const err = Math.abs(actual - expected);
  assert.ok(err <= TOL * Math.max(Math.abs(expected), Math.abs(actual)) || err <= 1e-15, `${what}: ${actual} vs sklearn ${expected} (diff ${err})`);
}

function closeAll(actual: ArrayLike<number>, expected: readonly (number | null)[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) close(actual[i], expected[i], `${what}[${i}]`);
}

const cases = specs.map(makeCase);
let oracleCache: PyResult[] | undefined;

/** Runs the oracle once for all cases. */
function oracle(): PyResult[] {
  if (oracleCache) return oracleCache;
  const dir = tempDir('ichnet-metrics-');
  for (const c of cases) {
    writeFileSync(join(dir, `${c.name}.probs`), Buffer.from(c.probs.buffer, c.probs.byteOffset, c.probs.byteLength));
    writeFileSync(join(dir, `${c.name}.targets`), c.targets);
  }
  const manifest = { cases: cases.map((c) => ({ name: c.name, n: c.n, labels: c.labels, thresholds: c.thresholds, lengths: c.lengths, brute: c.sklearnBrute ?? false })) };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  assert.equal(runPython(ORACLE, [dir]).trim(), 'ok');
  oracleCache = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as PyResult[];
  return oracleCache;
}

function checkLevel(ours: MetricsReport['slice'], py: PyLevel, labels: readonly string[], what: string): void {
  close(ours.f2.micro, py.f2_micro, `${what} f2 micro`);
  close(ours.f2.macro, py.f2_macro, `${what} f2 macro`);
  close(ours.f2.samples, py.f2_samples, `${what} f2 samples`);
  labels.forEach((label, l) => {
    close(ours.f2.perLabel[label], py.f2[l] as number, `${what} f2 ${label}`);
    close(ours.precision[label], py.precision[l] as number, `${what} precision ${label}`);
    close(ours.recall[label], py.recall[l] as number, `${what} recall ${label}`);
    const counts = ours.counts[label];
    assert.deepEqual(counts, { ...py.counts[l], support: py.support[l] }, `${what} counts ${label}`);
    close(ours.auc.perLabel[label], py.auc[l], `${what} auc ${label}`);
  });
  close(ours.auc.macro, py.auc_macro, `${what} auc macro`);
  if (py.logloss === undefined) assert.equal(ours.logLoss, undefined, `${what}: logLoss only for RSNA labels`);
  else {
    close(ours.logLoss, py.logloss, `${what} log loss vs numpy`);
    close(ours.logLoss, py.logloss_sklearn, `${what} log loss vs sklearn log_loss`);
  }
}

describe('metrics: scikit-learn parity', () => {
  it('F2 (micro/macro/samples/per label), precision, recall, counts, AUC and RSNA log loss, slice and patient level', () => {
    const py = oracle();
    cases.forEach((c, i) => {
      const ref = py[i] as PyResult;
      const L = c.labels.length;
      const patient = patientLevelFromLengths(c.probs, c.targets, c.lengths, L);
      assert.ok(patient.targets);
      closeAll(patient.probs, ref.patient_probs, `${c.name} patient probs`);
      assert.deepEqual(Array.from(patient.targets), ref.patient_targets, `${c.name} patient targets`);
      const report = evaluateAll({ labels: c.labels, slice: c, patient: { probs: patient.probs, targets: patient.targets }, thresholds: c.thresholds });
      checkLevel(report.slice, ref.slice, c.labels, `${c.name} slice`);
      checkLevel(report.patient, ref.patient, c.labels, `${c.name} patient`);
      // The micro/macro/samples precision and recall of fbetaScore too.
      for (const [level, data] of [['slice', c], ['patient', patient]] as const) {
        const f = fbetaScore(data.probs, data.targets as Uint8Array, c.thresholds);
        const r = ref[level];
        for (const avg of ['micro', 'macro', 'samples'] as const) {
          close(f.precision[avg], r[`precision_${avg}`] as number, `${c.name} ${level} precision ${avg}`);
          close(f.recall[avg], r[`recall_${avg}`] as number, `${c.name} ${level} recall ${avg}`);
        }
      }
    });
  });

  it('average precision and precision–recall curves', () => {
    const py = oracle();
    cases.forEach((c, i) => {
      const ref = py[i] as PyResult;
      const L = c.labels.length;
      const ap = averagePrecision(c.probs, c.targets, L);
      closeAll(ap.perLabel, ref.slice.ap, `${c.name} AP`);
      close(ap.macro, ref.slice.ap_macro, `${c.name} AP macro`);
      const patient = patientLevelFromLengths(c.probs, c.targets, c.lengths, L);
      const apPatient = averagePrecision(patient.probs, patient.targets as Uint8Array, L);
      closeAll(apPatient.perLabel, ref.patient.ap, `${c.name} patient AP`);
      const curves = precisionRecallCurves(c.probs, c.targets, L);
      curves.forEach((curve, l) => {
        const r = ref.slice.pr?.[l];
        assert.ok(r);
        assert.deepEqual(Array.from(curve.thresholds), r.thresholds, `${c.name} PR thresholds ${l}`);
        closeAll(curve.precision, r.precision, `${c.name} PR precision ${l}`);
        closeAll(curve.recall, r.recall, `${c.name} PR recall ${l}`);
      });
    });
  });

  it('threshold tuning reaches the brute-force maximum of sklearn F2 over every candidate threshold', () => {
    const py = oracle();
    cases.forEach((c, i) => {
      const ref = py[i] as PyResult;
      const L = c.labels.length;
      const tuned = tuneThresholdsDetailed(c.probs, c.targets, L);
      assert.deepEqual(tuneThresholds(c.probs, c.targets, L), tuned.map((t) => t.threshold));
      tuned.forEach((t, l) => {
        const r = ref.tuned[l];
        assert.ok(r);
        close(t.fbeta, r.f2, `${c.name} tuned F2 ${l} vs the maximum over candidates`);
        close(t.fbeta, r.f2_at_best, `${c.name} tuned F2 ${l} vs sklearn at the chosen threshold`);
        assert.equal(t.threshold, r.threshold, `${c.name} label ${l}: the largest maximising threshold`);
      });
      // The tuned thresholds give those F2 values through the ordinary scorer.
      const f = fbetaScore(c.probs, c.targets, tuned.map((t) => t.threshold));
      tuned.forEach((t, l) => assert.equal(f.fbeta.perLabel[l], t.fbeta));
    });
  });
});

describe('metrics: by hand', () => {
  it('F2 = 5TP / (5TP + 4FN + FP) and scikit-learn zero_division=1 on edge labels and rows', () => {
    // 3 rows × 4 labels. Label 0: TP 1, FN 1, FP 1; label 1: no positives, none predicted (F=1);
    // label 2: positives, none predicted (F=0, P=1, R=0); label 3: no positives, one predicted (F=0, P=0, R=1).
    const probs = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.2, 0.1, 0.2, 0.1, 0.7, 0.1, 0.2, 0.1]);
    const targets = Uint8Array.from([1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0]);
    const f = fbetaScore(probs, targets, [0.5, 0.5, 0.5, 0.5]);
    assert.deepEqual(f.fbeta.perLabel, [5 / 10, 1, 0, 0]);
    assert.deepEqual(f.precision.perLabel, [0.5, 1, 1, 0]);
    assert.deepEqual(f.recall.perLabel, [0.5, 1, 0, 1]);
    close(f.fbeta.micro, 5 / (5 + 4 * 3 + 2), 'micro');
    assert.equal(f.fbeta.macro, 1.5 / 4);
    // Rows: (TP1, FP1, FN1) → 0.5; (FN1) → 0; (FP1, FN1) → 0.
    assert.equal(f.fbeta.samples, 0.5 / 3);
    assert.deepEqual(f.counts[0], { tp: 1, fp: 1, fn: 1, tn: 0, support: 2 });
    // Nothing true, nothing predicted anywhere: everything 1.
    const none = fbetaScore(new Float32Array(4), new Uint8Array(4), [0.5, 0.5]);
    assert.deepEqual([none.fbeta.micro, none.fbeta.macro, none.fbeta.samples], [1, 1, 1]);
  });

  it('ROC AUC: ties count one half, single-class labels are NaN and left out of the macro mean', () => {
    const probs = Float32Array.from([0.5, 0.3, 0.5, 0.3, 0.2, 0.3, 0.9, 0.3]);
    const targets = Uint8Array.from([1, 0, 0, 0, 0, 0, 1, 0]);
    const auc = rocAuc(probs, targets, 2);
    // Label 0: positives {0.5, 0.9}, negatives {0.5, 0.2}: pairs 0.5/0.5 tie (½), others won → 3.5/4.
    assert.equal(auc.perLabel[0], 3.5 / 4);
    assert.ok(Number.isNaN(auc.perLabel[1] as number));
    assert.equal(auc.macro, 3.5 / 4);
    const report = evaluateAll({ labels: ['a', 'b'], slice: { probs, targets }, patient: { probs, targets } });
    assert.equal(report.slice.auc.perLabel.b, null);
    assert.equal(JSON.parse(JSON.stringify(report)).slice.auc.perLabel.b, null);
  });

  it('tuning: ties go to the largest threshold; a label without positives predicts nothing', () => {
    // Label 0: thresholds 0.8 (TP1 FN1 → 5/9) and 0.6 (TP2 FP1 → 10/11) and 0.4 (TP2 FP2 → 10/12).
    // Label 1: no positives → a threshold above every probability (F2 = 1).
    const probs = Float32Array.from([0.8, 0.3, 0.6, 0.9, 0.6, 0.2, 0.4, 0.1]);
    const targets = Uint8Array.from([1, 0, 1, 0, 0, 0, 0, 0]);
    const tuned = tuneThresholdsDetailed(probs, targets, 2);
    assert.equal(tuned[0]?.threshold, Math.fround(0.6));
    close(tuned[0]?.fbeta, 10 / 11, 'tuned F2');
    assert.ok((tuned[1]?.threshold as number) > Math.fround(0.9));
    assert.equal(tuned[1]?.threshold, Math.fround(tuned[1]?.threshold as number));
    assert.equal(tuned[1]?.fbeta, 1);
    // A tie: positives at 0.9 and 0.2, eight negatives at 0.5: F2 = 5/9 at 0.9 and at 0.2 → 0.9.
    const tieProbs = Float32Array.from([0.9, 0.2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    const tieTargets = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(tuneThresholds(tieProbs, tieTargets, 1), [Math.fround(0.9)]);
    // Every threshold in a tie: all probabilities equal and all positive → F2 = 1 at the only candidate.
    assert.deepEqual(tuneThresholds(Float32Array.from([0.3, 0.3]), Uint8Array.from([1, 1]), 1), [Math.fround(0.3)]);
  });

  it('patient level: max over slices, the array-of-patients and lengths forms agree', () => {
    const L = 2;
    const patients: PatientSlices[] = [
      { probs: Float32Array.from([0.1, 0.7, 0.4, 0.2]), targets: Uint8Array.from([0, 1, 0, 0]) },
      { probs: Float32Array.from([0.3, 0.05]), targets: Uint8Array.from([1, 0]) },
    ];
    const a = patientLevel(patients, L);
    assert.deepEqual(Array.from(a.probs), [0.4, 0.7, 0.3, 0.05].map(Math.fround));
    assert.deepEqual(Array.from(a.targets ?? []), [0, 1, 1, 0]);
    const b = patientLevelFromLengths(Float32Array.from([0.1, 0.7, 0.4, 0.2, 0.3, 0.05]), Uint8Array.from([0, 1, 0, 0, 1, 0]), [2, 1], L);
    assert.deepEqual(b, a);
    assert.equal(patientLevel([{ probs: Float32Array.from([0.5, 0.5]) }], L).targets, undefined);
    assert.throws(() => patientLevel([{ probs: new Float32Array(0) }], L), /no slices/);
    assert.throws(() => patientLevelFromLengths(new Float32Array(6), undefined, [2, 2], L), /sum to 4/);
  });

  it('report shape: camelCase, labels as keys, logLoss only for RSNA labels', () => {
    const r = rng(11);
    const n = 40;
    const probs = Float32Array.from({ length: n * 6 }, () => r());
    const targets = Uint8Array.from({ length: n * 6 }, () => (r() < 0.3 ? 1 : 0));
    const data = { probs, targets };
    const rsnaReport = evaluateAll({ labels: RSNA_LABELS, slice: data, patient: data, thresholds: [0.3, 0.4, 0.5, 0.6, 0.7, 0.2] });
    for (const level of [rsnaReport.slice, rsnaReport.patient]) {
      assert.deepEqual(Object.keys(level), ['f2', 'precision', 'recall', 'auc', 'counts', 'logLoss']);
      assert.deepEqual(Object.keys(level.f2), ['micro', 'macro', 'samples', 'perLabel']);
      assert.deepEqual(Object.keys(level.f2.perLabel), [...RSNA_LABELS]);
      assert.deepEqual(Object.keys(level.precision), [...RSNA_LABELS]);
      assert.deepEqual(Object.keys(level.auc), ['macro', 'perLabel']);
      assert.deepEqual(Object.keys(level.counts.any ?? {}), ['tp', 'fp', 'fn', 'tn', 'support']);
      assert.equal(level.logLoss, rsnaLogLoss(probs, targets, RSNA_LABELS));
    }
    assert.ok(isRsnaLabels([...RSNA_LABELS].reverse()));
    const course = ['ich', 'ivh', 'sah', 'sdh', 'edh', 'x'];
    const other = evaluateAll({ labels: course, slice: data, patient: data });
    assert.equal('logLoss' in other.slice, false);
    assert.throws(() => rsnaLogLoss(probs, targets, course), /RSNA/);
    assert.throws(() => evaluateAll({ labels: course, slice: { probs: new Float32Array(0), targets: new Uint8Array(0) }, patient: data }), /no rows/);
  });
});

describe('metrics: speed', () => {
  it('1M rows × 6 labels: each metric well under a second', () => {
    const n = 1_000_000;
    const L = 6;
    const r = rng(12);
    const probs = new Float32Array(n * L);
    const targets = new Uint8Array(n * L);
    for (let k = 0; k < n * L; k++) {
      const y = r() < 0.1 ? 1 : 0;
      targets[k] = y;
      probs[k] = Math.min(1, Math.max(0, 0.3 * y + 0.7 * r()));
    }
    const thresholds = [0.5, 0.4, 0.3, 0.5, 0.6, 0.5];
    const lengths = Array.from({ length: n / 40 }, () => 40);
    const timings: Record<string, number> = {};
    // CPU time of this process (less sensitive than wall time to other work on a shared machine).
    const time = (name: string, fn: () => unknown): void => {
      const t0 = process.cpuUsage();
      fn();
      const d = process.cpuUsage(t0);
      timings[name] = Math.round((d.user + d.system) / 1000);
    };
    time('fbetaScore', () => fbetaScore(probs, targets, thresholds));
    time('rocAuc', () => rocAuc(probs, targets, L));
    time('averagePrecision', () => averagePrecision(probs, targets, L));
    time('precisionRecallCurves', () => precisionRecallCurves(probs, targets, L));
    time('tuneThresholds', () => tuneThresholds(probs, targets, L));
    time('rsnaLogLoss', () => rsnaLogLoss(probs, targets, RSNA_LABELS));
    time('patientLevelFromLengths', () => patientLevelFromLengths(probs, targets, lengths, L));
    time('evaluateAll', () => evaluateAll({ labels: RSNA_LABELS, slice: { probs, targets }, patient: { probs, targets }, thresholds }));
    console.log(`metrics on ${n} × ${L} (CPU ms): ${JSON.stringify(timings)}`);
    // Generous bounds for slow CI machines; typical figures are far below.
    for (const [name, ms] of Object.entries(timings)) assert.ok(ms < (name === 'evaluateAll' ? 6000 : 2500), `${name} took ${ms} ms`);
  });
});
