/**
 * The `gossip-learn` command line: one binary, a subcommand per job.
 *
 *   gossip-learn train --data mnist --model mlp --epochs 1
 *   gossip-learn daemon --swarm demo
 *
 * Each subcommand lives in its own module under src/cli/commands and is
 * loaded lazily, so `--help` never pays for loading TensorFlow.js or libp2p.
 */
import { closestName } from '../common/arg-errors.ts';
import { commands } from './commands.ts';
import { CliUsageError } from './usage-error.ts';

const usage = (): string =>
  [
    'Usage: gossip-learn <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(15)} ${c.summary}`),
    '',
    'Options:',
    `  ${'-v, --version'.padEnd(15)} print the version and exit`,
    `  ${'-h, --help'.padEnd(15)} show this help`,
    '',
    'Run `gossip-learn <command> --help` for the options of a command.',
  ].join('\n');

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const { packageVersion } = await import('../node/version.ts');
    console.log(packageVersion());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    if (name.startsWith('-')) {
      const close = closestName(name, ['help', 'version']);
      console.error(`gossip-learn: unknown option '${name}'${close === null ? '' : ` (did you mean --${close}?)`}; options go after the command, and \`gossip-learn --help\` lists the commands`);
      return 2;
    }
    const close = closestName(name, commands.map((c) => c.name));
    console.error(`gossip-learn: unknown command '${name}'${close === null ? '' : ` (did you mean ${close}?)`}\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof CliUsageError) {
    console.error(`gossip-learn: ${err.message}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
