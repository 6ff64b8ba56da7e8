/** `ichnet synth`: write the synthetic CT phantom dataset. */
import { writeSyntheticDataset } from '../data/synth/write.js';
import { IchnetError } from '../errors/ichnet-error.js';

export interface SynthArgs {
  out: string;
  seed: number;
  patients: number;
  slices: number[];
  size: number;
  format: 'dicom' | 'png' | 'both';
}

export async function synthCommand(args: SynthArgs): Promise<number> {
  if (args.slices.length !== 2 || !args.slices.every((n) => Number.isInteger(n) && n >= 1) || (args.slices[0] as number) > (args.slices[1] as number)) {
    throw new IchnetError('USAGE', `--slices: expected two integers MIN MAX with 1 <= MIN <= MAX, got ${args.slices.join(' ')}`);
  }
  const t0 = performance.now();
  const info = await writeSyntheticDataset({
    out: args.out,
    seed: args.seed,
    patients: args.patients,
    slices: [args.slices[0] as number, args.slices[1] as number],
    size: args.size,
    format: args.format,
    onProgress: (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} patients`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(`${info.root}: ${info.patients} patients, ${info.slices} slices in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`labels: ${info.csv}; positive patients ${info.positivePatients}; per label ${JSON.stringify(info.positivePatientsPerLabel)}`);
  return 0;
}
