/**
 * The data schema flags `gossip-learn train`, `simulate` and the simulator's
 * benchmarks share (`--classes`, `--csv-delimiter`, `--normalization`,
 * `--test-data`): one table for their help lines and one parser, so a value
 * means the same and is refused with the same line everywhere. The daemon
 * reads the same four options through its config (src/node/config.ts: flag,
 * environment or file) and hands them to the same dataOptionsOf.
 *
 *   const dataOptions = parseDataSchemaFlags('simulate', { classes: 'cat,dog', 'csv-delimiter': ';' });
 *   // { classes: ['cat', 'dog'], csvDelimiter: ';', normalization: null, testData: null }
 *   const data = await loadDataset('csv:pets.csv', dataOptions);
 */
import { z } from 'zod';
import { checkDataSpec, dataOptionsOf, type DataOptions } from '../train/dataset.ts';
import type { ScriptOption } from './script-args.ts';
import { CliUsageError } from './usage-error.ts';

/** One data schema flag: its name, the placeholder of its value, what it does, and what applies without it. */
export interface DataSchemaFlag {
  flag: DataSchemaFlagName;
  value: string;
  help: string;
  shown: string;
}

export type DataSchemaFlagName = 'classes' | 'csv-delimiter' | 'normalization' | 'test-data';

/** The flags in the order help texts list them. */
export const DATA_SCHEMA_FLAGS: readonly DataSchemaFlag[] = [
  { flag: 'classes', value: 'NAMES', help: 'class names in index order, e.g. cat,dog,fish (text labels need them); part of the model hash', shown: 'integer labels' },
  { flag: 'csv-delimiter', value: 'CHAR', help: 'cell delimiter of csv: data: one character or tab', shown: 'detected' },
  { flag: 'normalization', value: 'FILE', help: 'normalize features with this file of gossip-learn data-stats; part of the model hash', shown: 'none' },
  { flag: 'test-data', value: 'SPEC', help: 'test set (a data spec) instead of the held-out rows', shown: 'held-out rows' },
];

/** The same flags as option rows of a script's table (src/cli/script-args.ts): spread them into `options`. */
export const DATA_SCHEMA_SCRIPT_OPTIONS = Object.fromEntries(
  DATA_SCHEMA_FLAGS.map((f) => [f.flag, { type: 'string', arg: f.value, help: f.help, shown: f.shown } satisfies ScriptOption]),
) as Record<DataSchemaFlagName, ScriptOption & { type: 'string' }>;

/** The flags' values as parsed (absent: not given). */
export type DataSchemaFlagValues = Partial<Record<DataSchemaFlagName, string | undefined>>;

const flagSchemas = {
  classes: z
    .string()
    .transform((text) => text.split(',').map((c) => c.trim()).filter((c) => c !== ''))
    .refine((c) => c.length >= 2, 'name at least 2 classes, comma separated, in index order')
    .refine((c) => new Set(c).size === c.length, 'a class is named twice'),
  'csv-delimiter': z.string(),
  normalization: z.string().min(1, 'must not be empty'),
  'test-data': z.string().min(1, 'must not be empty'),
} satisfies Record<DataSchemaFlagName, z.ZodType>;

/**
 * The DataOptions (src/train/dataset.ts) the flags say, checked without
 * reading any file: the class list (at least 2, none twice), the delimiter
 * (one character or `tab`), the --test-data spec's form. Throws
 * CliUsageError `<command>: --<flag>: <problem>` (with `(got '<value>')`
 * for a zod rule), one line, exit 2. Files are read by loadDataset, whose
 * DataError names them.
 */
export function parseDataSchemaFlags(command: string, values: DataSchemaFlagValues): DataOptions {
  const parsed: { classes?: string[]; csvDelimiter?: string; normalization?: string; testData?: string } = {};
  for (const { flag } of DATA_SCHEMA_FLAGS) {
    const given = values[flag];
    if (given === undefined) continue;
    const result = flagSchemas[flag].safeParse(given);
    if (!result.success) throw new CliUsageError(`${command}: --${flag}: ${result.error.issues[0]?.message ?? 'invalid'} (got '${given}')`);
    if (flag === 'classes') parsed.classes = result.data as string[];
    else if (flag === 'csv-delimiter') parsed.csvDelimiter = given;
    else if (flag === 'normalization') parsed.normalization = given;
    else parsed.testData = given;
  }
  let options: DataOptions;
  try {
    options = dataOptionsOf(parsed);
  } catch (err) {
    throw new CliUsageError(`${command}: --csv-delimiter: ${(err as Error).message}`);
  }
  if (parsed.testData !== undefined) {
    try {
      checkDataSpec(parsed.testData);
    } catch (err) {
      throw new CliUsageError(`${command}: --test-data: ${(err as Error).message}`);
    }
  }
  return options;
}

/** The flags given, as command-line arguments again (for a child process such as bench:scale's simulate runs). */
export function dataSchemaArgs(values: DataSchemaFlagValues): string[] {
  return DATA_SCHEMA_FLAGS.flatMap(({ flag }) => (values[flag] === undefined ? [] : [`--${flag}`, values[flag]]));
}
