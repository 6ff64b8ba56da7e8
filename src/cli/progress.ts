/** Training progress for people: a bar on a terminal, plain log lines otherwise. */
import cliProgress from 'cli-progress';

import type { Trainer } from '../train/trainer.js';

const fmt = (v: number, digits = 4) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const minutes = (seconds: number) => (Number.isFinite(seconds) ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s` : 'n/a');

/** Attaches progress output to a trainer's events; returns a function that stops it. */
export function attachProgress(trainer: Trainer, stream: NodeJS.WriteStream = process.stderr): () => void {
  const tty = Boolean(stream.isTTY) && process.env.CI !== 'true';
  let bar: cliProgress.SingleBar | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  let lastLine = 0;
  trainer.on('stage', ({ name, epochs, stepsPerEpoch }) => stream.write(`stage ${name}: ${epochs} epoch(s) of ${stepsPerEpoch} steps\n`));
  trainer.on('step', (e) => {
    if (tty) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream, format: 'epoch {epoch} |{bar}| {value}/{total} steps | loss {loss} | {speed} slices/s | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.stepsPerEpoch, 0, { epoch: e.epoch + 1, loss: '', speed: '' });
      }
      bar.update(e.batch, { epoch: e.epoch + 1, loss: fmt(e.loss), speed: e.slicesPerSecond.toFixed(1) });
    } else if (Date.now() - lastLine > 10_000 || e.batch === e.stepsPerEpoch) {
      lastLine = Date.now();
      stream.write(`epoch ${e.epoch + 1} step ${e.batch}/${e.stepsPerEpoch} loss ${fmt(e.loss)} lr ${e.lr.toExponential(2)} ${e.slicesPerSecond.toFixed(1)} slices/s, run ${e.step}/${e.totalSteps} steps, ETA ${minutes(e.etaSeconds)}\n`);
    }
  });
  trainer.on('epoch', (e) => {
    stop();
    stream.write(
      `epoch ${e.epoch + 1} (${e.stage}): train loss ${fmt(e.trainLoss)}, val loss ${fmt(e.valLoss)}, val F2 micro ${fmt(e.scores.slice.f2.micro)} ` +
        `(patients ${fmt(e.scores.patient.f2.micro)}), ${e.seconds.toFixed(1)} s\n`,
    );
  });
  trainer.on('best', (e) => stream.write(`  new best ${e.metric} = ${fmt(e.value)} in stage ${e.stage}${e.checkpoint ? ' (checkpoints/best)' : ''}\n`));
  trainer.on('pretrained', (p) =>
    stream.write(`pretrained ${p.path}: ${p.backboneLoaded} of ${p.backboneTotal} backbone tensors loaded (${p.loaded} loaded, ${p.missing} missing, ${p.unexpected} unexpected)\n`),
  );
  trainer.on('skipped', ({ phase, items, total }) => {
    stop();
    for (const item of items) stream.write(`skipped (${phase}) ${item.path}: ${item.reason}\n`);
    stream.write(`  ${total} input(s) skipped so far\n`);
  });
  return stop;
}
