/**
 * Flags of the `npm run bench:*` / `fuzz:*` scripts: node:util parseArgs
 * plus what every script needs the same way: `--help` (usage with every
 * option and its default, exit 0) and a bad flag or value (one line naming
 * the script, exit 2), instead of a parseArgs stack trace.
 *
 *   const args = parseScriptArgs({
 *     usage: 'npm run fuzz:codec -- [options]',
 *     summary: 'Feeds hostile inputs through the decoders.',
 *     options: { seed: { type: 'string', default: '1', arg: 'S', help: 'seed of the inputs' } },
 *   });
 *   const seed = scriptInt(args.values.seed, '--seed', 'fuzz:codec');
 */
import { parseArgs } from 'node:util';
import { describeArgsError } from '../common/arg-errors.ts';
import { outputPathProblem } from './output-path.ts';

export interface ScriptOption {
  type: 'string' | 'boolean';
  default?: string | boolean | string[];
  multiple?: boolean;
  /** Placeholder shown in --help (N, FILE, SPEC); booleans take none. */
  arg?: string;
  help: string;
  /** What applies when the flag is absent, for --help, when that is not the default value (e.g. 'detected'). */
  shown?: string;
  /** The value names a file the script writes (often only at its end): its directory is checked before any work (outputProblems). */
  output?: boolean;
}

export interface ScriptSpec<O extends Record<string, ScriptOption>> {
  /** First help line after "Usage: ", e.g. 'npm run bench:codec -- [options]'. */
  usage: string;
  /** A few lines on what the script measures. */
  summary: string;
  options: O;
  /** Name used in error lines, e.g. 'bench:codec'. */
  name: string;
  /** Allow positional arguments (e.g. daemon flags after `--`). */
  allowPositionals?: boolean;
}

type ValueOf<T extends ScriptOption> = T['type'] extends 'boolean'
  ? boolean
  : T['multiple'] extends true
    ? string[]
    : string;

export type ScriptValues<O extends Record<string, ScriptOption>> = {
  [K in keyof O]: O[K] extends { default: unknown } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export type ScriptArgsResult<O extends Record<string, ScriptOption>> =
  | { kind: 'help'; text: string }
  | { kind: 'error'; message: string }
  | { kind: 'ok'; values: ScriptValues<O>; positionals: string[] };

/** The --help text: usage, summary, one line per option with its default. */
export function scriptHelp<O extends Record<string, ScriptOption>>(spec: ScriptSpec<O>): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const left = `--${name}${o.arg === undefined || o.type === 'boolean' ? '' : ` ${o.arg}`}`;
    const shown = o.shown !== undefined ? o.shown : Array.isArray(o.default) ? (o.default.length === 0 ? 'none' : o.default.join(',')) : o.default === undefined ? (o.type === 'boolean' ? 'off' : 'none') : String(o.default);
    return { left, right: `${o.help}${o.multiple === true ? ' (repeatable)' : ''} (default: ${shown})` };
  });
  rows.push({ left: '-h, --help', right: 'show this help' });
  const width = Math.max(...rows.map((r) => r.left.length));
  return [`Usage: ${spec.usage}`, '', spec.summary.trim(), '', 'Options:', ...rows.map((r) => `  ${r.left.padEnd(width)}  ${r.right}`)].join('\n');
}

/** Pure: parses argv against the spec; never exits (tests call this). */
export function readScriptArgs<const O extends Record<string, ScriptOption>>(spec: ScriptSpec<O>, argv: string[]): ScriptArgsResult<O> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: string | boolean | string[]; short?: string }> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = { type: o.type, ...(o.multiple === true ? { multiple: true } : {}), ...(o.default === undefined ? {} : { default: o.default }) };
  }
  options.help = { type: 'boolean', short: 'h' };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: spec.allowPositionals === true }) as typeof parsed;
  } catch (err) {
    return { kind: 'error', message: `${spec.name}: ${describeArgsError(err, [...Object.keys(spec.options), 'help'], `\`npm run ${spec.name} -- --help\` lists the options`)}` };
  }
  if (parsed.values.help === true) return { kind: 'help', text: scriptHelp(spec) };
  delete parsed.values.help;
  return { kind: 'ok', values: parsed.values as ScriptValues<O>, positionals: parsed.positionals };
}

/** For script entry points: prints help (exit 0) or the error line (exit 2) and exits; else returns the values. */
export function parseScriptArgs<const O extends Record<string, ScriptOption>>(
  spec: ScriptSpec<O>,
  argv: string[] = process.argv.slice(2),
): { values: ScriptValues<O>; positionals: string[] } {
  const result = readScriptArgs(spec, argv);
  if (result.kind === 'help') {
    console.log(result.text);
    process.exit(0);
  }
  if (result.kind === 'error') exitScriptUsage(result.message);
  const problem = outputProblem(spec, result.values);
  if (problem !== null) exitScriptUsage(problem);
  return result;
}

/**
 * The first output file flag (ScriptOption.output) that cannot be written,
 * as one line naming the script and the flag (`bench:poison: --json:
 * directory out does not exist (create it first)`); null when all can. A
 * run of minutes or hours must not end in a stack trace when it writes.
 */
export function outputProblem<O extends Record<string, ScriptOption>>(spec: ScriptSpec<O>, values: ScriptValues<O>): string | null {
  for (const [name, o] of Object.entries(spec.options)) {
    const value = (values as Record<string, unknown>)[name];
    if (o.output !== true || typeof value !== 'string' || value === '') continue;
    const problem = outputPathProblem(value);
    if (problem !== null) return `${spec.name}: --${name}: ${problem}`;
  }
  return null;
}

/** One line on stderr, exit 2: the script's arguments are wrong. */
export function exitScriptUsage(message: string): never {
  console.error(message);
  process.exit(2);
}

/** A checked number from a string flag, or exit 2 naming the flag. */
export function scriptNumber(raw: string, flag: string, name: string, check: { integer?: boolean; min?: number; positive?: boolean } = {}): number {
  const problem = scriptNumberProblem(raw, check);
  if (problem !== null) exitScriptUsage(`${name}: ${flag} must be ${problem} (got '${raw}')`);
  return Number(raw);
}

/** Pure part of scriptNumber: null when `raw` passes, else what it must be ("an integer >= 1"). */
export function scriptNumberProblem(raw: string, check: { integer?: boolean; min?: number; positive?: boolean }): string | null {
  const value = Number(raw);
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(value) &&
    (check.integer !== true || Number.isSafeInteger(value)) &&
    (check.min === undefined || value >= check.min) &&
    (check.positive !== true || value > 0);
  if (ok) return null;
  const kind = check.integer === true ? 'an integer' : 'a number';
  return check.positive === true ? `a positive ${kind.slice(kind.indexOf(' ') + 1)}` : `${kind}${check.min === undefined ? '' : ` >= ${check.min}`}`;
}
