#!/usr/bin/env node
/** The `ichnet` command. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { doctor } from './doctor.js';

await yargs(hideBin(process.argv))
  .scriptName('ichnet')
  .usage('$0 <command> [options]')
  .command(
    'doctor',
    'Show which native addon loaded, from where, and the LibTorch / CUDA / cuDNN it runs on',
    (y) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
    async (argv) => {
      process.exitCode = await doctor({ json: argv.json });
    },
  )
  .demandCommand(1, 'Name a command (see --help).')
  .strict()
  .help()
  .parseAsync();
