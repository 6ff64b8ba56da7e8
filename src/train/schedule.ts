/** Learning-rate schedules over fractional epochs. */
import type { ExperimentConfig } from '../config/experiment-schema.js';

type Schedule = ExperimentConfig['train']['lr_schedule'];

/**
 * The learning rate at `epoch` (fractional: epoch + step / stepsPerEpoch) of a stage lasting
 * `epochs`: a linear warm-up from 0, then cosine decay to `min_lr`, step decay, or constant.
 */
export function learningRateAt(base: number, schedule: Schedule, epoch: number, epochs: number): number {
  if (schedule.warmup_epochs > 0 && epoch < schedule.warmup_epochs) return (base * epoch) / schedule.warmup_epochs;
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'step':
      return base * schedule.gamma ** Math.floor(epoch / schedule.step_epochs);
    case 'cosine': {
      const span = Math.max(epochs - schedule.warmup_epochs, 1e-9);
      const t = Math.min(1, Math.max(0, (epoch - schedule.warmup_epochs) / span));
      return schedule.min_lr + ((base - schedule.min_lr) * (1 + Math.cos(Math.PI * t))) / 2;
    }
  }
}
