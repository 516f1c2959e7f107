/**
 * `gossip-learn keygen --out FILE`: writes a new pre-shared key for a
 * private swarm (the libp2p `swarm.key` format, mode 0600; never overwrites
 * a file). Every node of the swarm then starts with `--psk FILE`
 * (src/node/swarm-key.ts).
 *
 *   gossip-learn keygen --out swarm.key
 */
import { parseArgs } from 'node:util';
import { describeArgsError } from '../../common/arg-errors.ts';
import { SwarmKeyError, writeSwarmKey } from '../../node/swarm-key.ts';
import { CliUsageError } from '../usage-error.ts';

const KEYGEN_HELP_HINT = '`gossip-learn keygen --help` lists the options';

const help = (): string => `Usage: gossip-learn keygen --out FILE

Writes a new random pre-shared key for a private swarm to FILE (the libp2p
swarm.key format, mode 0600). It never overwrites an existing file. Copy it to
every node of the swarm and start each with --psk FILE: peers without the key,
or with another one, cannot connect.

Options:
  --out FILE     where to write the key (required)
  -v, --version  print the version and exit
  -h, --help     show this help`;

/** Runs the command; exit 0 when written. Throws CliUsageError (one line, exit 2) for bad flags and when the file exists or cannot be written. */
export async function run(argv: string[]): Promise<number> {
  const options = { out: { type: 'string' }, version: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' } } as const;
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new CliUsageError(`keygen: ${describeArgsError(err, Object.keys(options), KEYGEN_HELP_HINT)}`);
  }
  if (values.help === true) {
    console.log(help());
    return 0;
  }
  if (values.version === true) {
    const { packageVersion } = await import('../../node/version.ts');
    console.log(packageVersion());
    return 0;
  }
  if (values.out === undefined || values.out === '') throw new CliUsageError(`keygen: --out FILE is required; ${KEYGEN_HELP_HINT}`);
  try {
    await writeSwarmKey(values.out);
  } catch (err) {
    // The file exists or cannot be written there: the --out the user gave, a usage error like the others (exit 2).
    if (err instanceof SwarmKeyError) throw new CliUsageError(`keygen: ${err.message}`);
    throw err;
  }
  console.log(`wrote a new swarm key to ${values.out} (mode 0600); start every node of the swarm with --psk ${values.out}`);
  return 0;
}
