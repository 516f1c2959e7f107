import { strict as assert } from 'node:assert';
import { readCommandArgs, usageFailure } from '../../src/cli/command-args.ts';
import { CliUsageError } from '../../src/cli/usage-error.ts';
import { packageVersion } from '../../src/node/version.ts';

const HINT = '`gossip-learn demo --help` lists the options';
const options = { out: { type: 'string' }, quiet: { type: 'boolean' } } as const;

/** Runs `readCommandArgs` with console.log captured. */
async function read(argv: string[]): Promise<{ values: Awaited<ReturnType<typeof readCommandArgs<typeof options>>>; printed: string[] }> {
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(args.join(' '));
  try {
    return { values: await readCommandArgs('demo', argv, options, HINT, () => 'Usage: gossip-learn demo'), printed };
  } finally {
    console.log = log;
  }
}

describe('command args (gossip-learn export, predict, data-stats, keygen)', () => {
  it('returns the given values without the common flags', async () => {
    const { values, printed } = await read(['--out', 'x.json', '--quiet']);
    assert.deepEqual({ ...values }, { out: 'x.json', quiet: true });
    assert.deepEqual(printed, []);
  });

  it('prints the help for -h and --help, the version for -v and --version, and returns null', async () => {
    for (const flag of ['-h', '--help']) assert.deepEqual(await read(['--out', 'x', flag]), { values: null, printed: ['Usage: gossip-learn demo'] });
    for (const flag of ['-v', '--version']) assert.deepEqual(await read([flag]), { values: null, printed: [packageVersion()] });
  });

  it('names the command, the closest option and the hint for a misspelt option, and refuses positionals', async () => {
    await assert.rejects(read(['--otu', 'x']), (err: unknown) => err instanceof CliUsageError && err.message === `demo: unknown option '--otu' (did you mean --out?); ${HINT}`);
    await assert.rejects(read(['stray']), (err: unknown) => err instanceof CliUsageError && err.message === `demo: unexpected argument 'stray' (options start with --); ${HINT}`);
  });

  it('usageFailure throws one CliUsageError line prefixed with the command', () => {
    assert.throws(() => usageFailure('demo')('--out DIR is required'), (err: unknown) => err instanceof CliUsageError && err.message === 'demo: --out DIR is required');
  });
});
