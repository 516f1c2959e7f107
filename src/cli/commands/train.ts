import { parseArgs } from 'node:util';

const help = `Usage: gossip-learn train [options]

Train one model on one data partition and report test accuracy.
(Implementation lands with the foundation issue.)`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, strict: false });
  if (values.help) {
    console.log(help);
    return 0;
  }
  console.error('gossip-learn train: not implemented yet');
  return 1;
}
