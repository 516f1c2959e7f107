/**
 * `gossip-learn keygen --out FILE`: writes a new pre-shared key for a
 * private swarm (the libp2p `swarm.key` format, mode 0600; never overwrites
 * a file). Every node of the swarm then starts with `--psk FILE`
 * (src/node/swarm-key.ts).
 *
 *   gossip-learn keygen --out swarm.key
 */
import { readCommandArgs, usageFailure, type UsageFailure } from '../command-args.ts';
import { SwarmKeyError, writeSwarmKey } from '../../node/swarm-key.ts';
import { outputPathProblem } from '../output-path.ts';

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
  const options = { out: { type: 'string' } } as const;
  const values = await readCommandArgs('keygen', argv, options, KEYGEN_HELP_HINT, help);
  if (values === null) return 0;
  const fail: UsageFailure = usageFailure('keygen');
  if (values.out === undefined || values.out === '') fail(`--out FILE is required; ${KEYGEN_HELP_HINT}`);
  const outProblem = outputPathProblem(values.out);
  if (outProblem !== null) fail(`--out: ${outProblem}`);
  try {
    await writeSwarmKey(values.out);
  } catch (err) {
    // The file exists or cannot be written there: the --out the user gave, a usage error like the others (exit 2).
    if (err instanceof SwarmKeyError) fail(err.message);
    throw err;
  }
  console.log(`wrote a new swarm key to ${values.out} (mode 0600); start every node of the swarm with --psk ${values.out}`);
  return 0;
}
