/**
 * The error line for a daemon flag given to a launcher (`npm run cluster`,
 * `npm run soak`) that does not take it: such a flag goes to every daemon
 * through --daemon-arg, unless the launcher sets it for each daemon itself.
 *
 *   daemonFlagError(['--byte-budget', '10MB'], '--byte-budget', known, hint)
 *   // "--byte-budget is a daemon flag: pass it to every daemon with --daemon-arg=--byte-budget=10MB; `npm run cluster -- --help` lists the options"
 */
import { closestName } from '../common/arg-errors.ts';
import { optionSpecs } from '../node/config.ts';

/** Daemon flags the launchers set for each daemon (src/cluster/launcher.ts): a --daemon-arg would clash with them. */
const SET_PER_DAEMON = new Set(['node-index', 'num-nodes', 'state-dir', 'listen', 'metrics-host', 'metrics-port', 'bootstrap', 'no-distill', 'exit-with-parent', 'parent-pid']);

/**
 * For `option` (as parseArgs quoted it: `--byte-budget` or `--byte-budget=10MB`)
 * that is a daemon flag and not one of `launcherFlags`: the line that says
 * how to pass it, with its value from `argv` when there is one (the next
 * argument, unless it starts with a dash, or the text after `=`). A
 * misspelt flag whose closest name among launcher and daemon flags is a
 * daemon flag (`--log-levl`) gets the same line, led by "unknown option
 * '--log-levl' (did you mean --log-level?)". Else null.
 */
export function daemonFlagError(argv: readonly string[], option: string, launcherFlags: readonly string[], helpHint: string): string | null {
  const given = option.replace(/^--/, '').replace(/=.*$/, '');
  if (launcherFlags.includes(given)) return null;
  let flag = given;
  let lead = '';
  if (!optionSpecs.some((o) => o.flag === given)) {
    const close = closestName(given, [...launcherFlags, ...optionSpecs.map((o) => o.flag)]);
    if (close === null || launcherFlags.includes(close)) return null;
    flag = close;
    lead = `unknown option '--${given}' (did you mean --${close}?): `;
  }
  const spec = optionSpecs.find((o) => o.flag === flag)!;
  if (SET_PER_DAEMON.has(flag)) return `${lead}--${flag} is a daemon flag the launcher sets for each daemon itself; ${helpHint}`;
  let value: string | null = null;
  const at = argv.findIndex((arg) => arg === `--${given}` || arg.startsWith(`--${given}=`));
  if (spec.kind !== 'boolean' && at >= 0) {
    const arg = argv[at]!;
    if (arg.includes('=')) value = arg.slice(arg.indexOf('=') + 1);
    else if (at + 1 < argv.length && !argv[at + 1]!.startsWith('-')) value = argv[at + 1]!;
  }
  const passed = spec.kind === 'boolean' ? `--${flag}` : `--${flag}=${value ?? 'VALUE'}`;
  return `${lead}--${flag} is a daemon flag: pass it to every daemon with --daemon-arg=${passed}; ${helpHint}`;
}
