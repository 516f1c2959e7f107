/**
 * One-line messages for command-line mistakes, shared by every command and
 * script: an unknown option names the closest known one ("did you mean") and
 * every message ends with where the options are listed.
 *
 *   try {
 *     parseArgs({ args, options, strict: true });
 *   } catch (err) {
 *     throw new CliUsageError(describeArgsError(err, Object.keys(options), '`gossip-learn train --help` lists the options'));
 *   }
 *   // "unknown option '--epoch' (did you mean --epochs?); `gossip-learn train --help` lists the options"
 *
 * Plain code rather than a package: the edit distance is a dozen lines and
 * the runtime dependencies have none to offer.
 */

/**
 * Edit distance between two strings: insertions, deletions, substitutions
 * and swaps of two neighbours (`--sede` for `--seed`) cost 1 each.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/** `stateDir` and `state_dir` as flags are written: `state-dir`. */
export function toKebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replaceAll('_', '-')
    .toLowerCase();
}

/**
 * Whether `short` abbreviates `name`: same first letter, and the rest of its
 * letters appear in `name` in order (`avg` for `average`, `tm` for
 * `trimmed-mean`).
 */
export function abbreviates(short: string, name: string): boolean {
  if (short.length < 2 || short[0] !== name[0]) return false;
  let at = 1;
  for (let i = 1; i < name.length && at < short.length; i++) if (name[i] === short[at]) at++;
  return at === short.length;
}

/**
 * The known name closest to `given`, or null when none is close: the same
 * name in kebab case, the only name that starts with it, the only one that
 * ends with it as a word (`port` for `metrics-port`), the only one it
 * abbreviates (`avg` for `average`), or the nearest within an edit distance
 * of a third of its length (at least 1; ties: none).
 */
export function closestName(given: string, known: readonly string[]): string | null {
  const wanted = toKebabCase(given.replace(/^-+/, '').replace(/=.*$/, ''));
  if (wanted === '') return null;
  if (known.includes(wanted)) return wanted;
  const prefixed = known.filter((name) => name.startsWith(wanted));
  if (prefixed.length === 1) return prefixed[0]!;
  const suffixed = known.filter((name) => name.endsWith(`-${wanted}`));
  if (suffixed.length === 1) return suffixed[0]!;
  const abbreviated = known.filter((name) => abbreviates(wanted, name));
  if (abbreviated.length === 1) return abbreviated[0]!;
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  let tied = false;
  for (const name of known) {
    const distance = editDistance(wanted, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
      tied = false;
    } else if (distance === bestDistance) tied = true;
  }
  return best !== null && bestDistance <= limit && !tied ? best : null;
}

/** " (did you mean --state-dir?)" for a close known flag, else "". */
export function didYouMean(given: string, knownFlags: readonly string[]): string {
  const match = closestName(given, knownFlags);
  return match === null ? '' : ` (did you mean --${match}?)`;
}

/**
 * One line for an error of node:util parseArgs (strict): what is wrong,
 * for an unknown option the closest known flag, then `helpHint` (e.g.
 * "`gossip-learn daemon --help` lists the options"). Other errors pass
 * through as their first line.
 */
export function describeArgsError(err: unknown, knownFlags: readonly string[], helpHint: string): string {
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${quoted}'${didYouMean(quoted, knownFlags)}; ${helpHint}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument '${quoted}' (options start with --); ${helpHint}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = quoted.split(' ')[0]!;
    if (/ambiguous/.test(message)) return `option ${option} needs a value (one that starts with a dash is written ${option}=-...); ${helpHint}`;
    if (/argument missing/.test(message)) return `option ${option} needs a value; ${helpHint}`;
    if (/does not take an argument/.test(message)) return `option ${option} takes no value; ${helpHint}`;
  }
  return `${message.split('\n')[0] ?? 'bad arguments'}; ${helpHint}`;
}
