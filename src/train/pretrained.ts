/** `train.pretrained`: what a weights file gave the model, and the refusal to train on nothing. */
import { IchnetError } from '../errors/ichnet-error.js';
import type { LoadReport } from '../session/types.js';
import type { PretrainedEvent } from './events.js';

/**
 * Summarises a load report. A file that gives the backbone nothing (wrong architecture, another
 * naming scheme) would silently train from scratch, so it is an error naming the file, the counts
 * and a few of its keys.
 */
export function checkPretrained(path: string, report: LoadReport): PretrainedEvent {
  const backbone = (k: string) => k.startsWith('backbone.');
  const backboneLoaded = report.loaded.filter(backbone).length;
  const backboneTotal = backboneLoaded + report.missing.filter(backbone).length;
  const summary = { path, loaded: report.loaded.length, missing: report.missing.length, unexpected: report.unexpected.length, backboneLoaded, backboneTotal };
  if (backboneLoaded === 0) {
    const examples = report.unexpected.slice(0, 3).map((k) => `'${k}'`).join(', ');
    throw new IchnetError(
      'WEIGHTS_MISMATCH',
      `${path}: train.pretrained matches none of the backbone's ${backboneTotal} tensors ` +
        `(${summary.loaded} loaded, ${summary.missing} missing, ${summary.unexpected} unexpected${examples ? `, e.g. ${examples}` : ''}); ` +
        "expected torchvision VGG16 names ('features.0.weight') or this model's ('backbone.features.0.weight') for the configured backbone and width",
    );
  }
  return summary;
}
