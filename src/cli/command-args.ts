/**
 * Flags of a `gossip-learn <command>` that parses its own argv (export,
 * predict, data-stats, keygen): node:util parseArgs in strict mode, plus what
 * every such command does the same way: `-h`/`--help` prints the command's
 * help, `-v`/`--version` the package version (both exit 0), and a bad flag is
 * one CliUsageError line naming the command and where the options are listed
 * (exit 2), with a did-you-mean for a misspelt option.
 *
 *   const values = await readCommandArgs('keygen', argv, { out: { type: 'string' } }, KEYGEN_HELP_HINT, help);
 *   if (values === null) return 0;                  // --help or --version was printed
 *   const fail: UsageFailure = usageFailure('keygen');
 *   if (values.out === undefined) fail(`--out FILE is required; ${KEYGEN_HELP_HINT}`);
 *
 * The scripts under scripts/ have their own, script-args.ts: their help text
 * is generated from the option table, a command's is written by hand.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { describeArgsError } from '../common/arg-errors.ts';
import { CliUsageError } from './usage-error.ts';

/** The flags every command takes on top of its own. */
const COMMON_OPTIONS = { version: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' } } as const;

/** What parseArgs returns for `options` (strict, no positionals), without the common flags. */
export type CommandValues<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'];

/**
 * Parses `argv` against `options` (which must not define `help` or
 * `version`). Returns null after printing the help (`help()`) or the version
 * to stdout: the command then returns exit code 0. Throws CliUsageError
 * `<command>: <what is wrong>; <helpHint>` for an unknown option, a missing
 * value or a positional argument.
 */
export async function readCommandArgs<const O extends ParseArgsOptionsConfig>(
  command: string,
  argv: string[],
  options: O,
  helpHint: string,
  help: () => string,
): Promise<CommandValues<O> | null> {
  const all: ParseArgsOptionsConfig = { ...options, ...COMMON_OPTIONS };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: all, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new CliUsageError(`${command}: ${describeArgsError(err, Object.keys(all), helpHint)}`);
  }
  if (values.help === true) {
    console.log(help());
    return null;
  }
  if (values.version === true) {
    const { packageVersion } = await import('../node/version.ts');
    console.log(packageVersion());
    return null;
  }
  delete values.help;
  delete values.version;
  return values as CommandValues<O>;
}

/** Throws CliUsageError(`<command>: <message>`). Declare the variable with this type (`const fail: UsageFailure = ...`) so that TypeScript narrows after a call. */
export type UsageFailure = (message: string) => never;

/** A function that throws CliUsageError(`<command>: <message>`): one line, exit 2. */
export function usageFailure(command: string): UsageFailure {
  return (message: string): never => {
    throw new CliUsageError(`${command}: ${message}`);
  };
}
