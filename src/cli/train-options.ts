/**
 * Flags of `gossip-learn train`, parsed with node:util parseArgs and
 * validated with zod; every problem becomes one CliUsageError line (exit 2).
 * One table drives parsing, validation messages and the --help text.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { describeArgsError } from '../common/arg-errors.ts';
import { DATA_SPEC_HELP, dataFormatsHelp, type DataOptions } from '../train/dataset.ts';
import { PARTITION_SPEC_HELP, PartitionError, parsePartitionSpec } from '../train/partition.ts';
import { defaultLearningRate, learningRateDefaultsText, OPTIMIZER_NAMES, TRAINING_DEFAULTS, type OptimizerName } from '../train/training-defaults.ts';
import { DATA_SCHEMA_FLAGS, parseDataSchemaFlags } from './data-flags.ts';
import { CliUsageError } from './usage-error.ts';

interface FlagSpec {
  flag: string;
  value: string;
  help: string;
  shown: string;
}

const flags: FlagSpec[] = [
  { flag: 'data', value: 'SPEC', help: `data source: ${DATA_SPEC_HELP}`, shown: 'mnist' },
  ...DATA_SCHEMA_FLAGS,
  { flag: 'model', value: 'NAME', help: 'registry model: mlp | mlp-small | cnn, or PATH/model.json (tfjs LayersModel)', shown: 'mlp' },
  { flag: 'epochs', value: 'N', help: 'passes over this node\'s partition', shown: '1' },
  { flag: 'batch-size', value: 'N', help: 'rows per optimizer step', shown: String(TRAINING_DEFAULTS.batchSize) },
  { flag: 'learning-rate', value: 'X', help: 'step size', shown: learningRateDefaultsText() },
  { flag: 'optimizer', value: 'NAME', help: `${OPTIMIZER_NAMES.join(' | ')} (momentum: 0.9)`, shown: TRAINING_DEFAULTS.optimizer },
  { flag: 'partition', value: 'SPEC', help: `which rows this node trains on: ${PARTITION_SPEC_HELP}`, shown: 'iid' },
  { flag: 'node-index', value: 'I', help: 'this node\'s index in 0..num-nodes-1', shown: '0' },
  { flag: 'num-nodes', value: 'N', help: 'number of nodes the training set is split over', shown: '1 (all data)' },
  { flag: 'seed', value: 'N', help: 'seeds initial weights, partition and shuffling', shown: '1' },
  { flag: 'backend', value: 'NAME', help: 'auto | tensorflow | wasm | cpu (env GOSSIP_LEARN_BACKEND)', shown: 'auto' },
  { flag: 'checkpoint', value: 'FILE', help: 'write a checkpoint of the trained model here at the end', shown: 'none' },
  { flag: 'max-steps', value: 'N', help: 'stop after this many optimizer steps in total (quick runs, tests)', shown: 'no limit' },
  { flag: 'json', value: 'FILE', help: 'write the results as JSON here', shown: 'none' },
];

/** Where an unknown or bad flag sends the user. */
export const TRAIN_HELP_HINT = '`gossip-learn train --help` lists the options';

/** The `gossip-learn train --help` text: every flag with its default, the data formats, an example. */
export function trainHelp(): string {
  const lines = flags.map((f) => {
    const left = `  --${f.flag} ${f.value}`.padEnd(30);
    return `${left} ${f.help} (default: ${f.shown})`;
  });
  return `Usage: gossip-learn train [options]

Train one model on one data partition, evaluate it on the full test split and
print the test accuracy: the centralized (one node, all data) or local-only
(one node of many, its partition only) baseline that gossip runs compare to.

Options:
${lines.join('\n')}
  -v, --version                print the version and exit
  -h, --help                   show this help

${dataFormatsHelp()}

Example:
  gossip-learn train --data fashion-mnist --model mlp --epochs 3`;
}

const positiveInt = (what: string) => z.string().regex(/^\d+$/, `${what} must be a positive integer`).transform(Number).refine((n) => n >= 1 && Number.isSafeInteger(n), `${what} must be a positive integer`);
const nonNegativeInt = (what: string) => z.string().regex(/^\d+$/, `${what} must be a non-negative integer`).transform(Number).refine((n) => Number.isSafeInteger(n), `${what} is too large`);

const schema = z
  .object({
    data: z.string().min(1, 'data must not be empty').default('mnist'),
    // The data schema flags (--classes, --csv-delimiter, --normalization, --test-data): ./data-flags.ts.
    classes: z.string().optional(),
    'csv-delimiter': z.string().optional(),
    normalization: z.string().optional(),
    'test-data': z.string().optional(),
    model: z
      .string()
      .refine((m) => ['mlp', 'mlp-small', 'cnn'].includes(m) || m.endsWith('.json'), 'model must be one of mlp | mlp-small | cnn, or a tfjs model file ending in .json')
      .default('mlp'),
    epochs: positiveInt('epochs').default(1),
    'batch-size': positiveInt('batch size').default(TRAINING_DEFAULTS.batchSize),
    'learning-rate': z
      .string()
      .transform(Number)
      .refine((x) => Number.isFinite(x) && x > 0, 'learning rate must be a positive number')
      .optional(),
    optimizer: z.enum(OPTIMIZER_NAMES, { error: `optimizer must be one of ${OPTIMIZER_NAMES.join(' | ')}` }).default(TRAINING_DEFAULTS.optimizer),
    partition: z.string().default('iid'),
    'node-index': nonNegativeInt('node index').default(0),
    'num-nodes': positiveInt('number of nodes').default(1),
    seed: nonNegativeInt('seed').default(1),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu'], { error: 'backend must be one of auto | tensorflow | wasm | cpu' }).default('auto'),
    checkpoint: z.string().min(1).optional(),
    'max-steps': positiveInt('max steps').optional(),
    json: z.string().min(1).optional(),
  })
  .refine((o) => o['node-index'] < o['num-nodes'], { message: 'node index must be below the number of nodes', path: ['node-index'] });

export interface TrainOptions {
  help: boolean;
  /** --version / -v: print the package version. */
  version: boolean;
  data: string;
  /** The data schema and test set (--classes, --csv-delimiter, --normalization, --test-data). */
  dataOptions: DataOptions;
  /** A registry name or a tfjs model file (`.json`). */
  model: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: OptimizerName;
  partition: string;
  nodeIndex: number;
  numNodes: number;
  seed: number;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  checkpoint: string | null;
  maxSteps: number | null;
  json: string | null;
}

const parseOptions = Object.fromEntries([
  ['help', { type: 'boolean' as const, short: 'h' }],
  ['version', { type: 'boolean' as const, short: 'v' }],
  ...flags.map((f) => [f.flag, { type: 'string' as const }]),
]);

/** Parses `train` arguments; throws CliUsageError with one line naming the flag. */
export function parseTrainOptions(argv: string[]): TrainOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: parseOptions, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    throw new CliUsageError(`train: ${describeArgsError(err, Object.keys(parseOptions), TRAIN_HELP_HINT)}`);
  }
  const help = values.help === true;
  const version = values.version === true;
  delete values.help;
  delete values.version;
  const result = schema.safeParse(values);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const flag = String(issue.path[0] ?? '');
    const given = values[flag];
    throw new CliUsageError(`train: --${flag}: ${issue.message}${typeof given === 'string' ? ` (got '${given}')` : ''}`);
  }
  const o = result.data;
  const dataOptions = parseDataSchemaFlags('train', o);
  try {
    parsePartitionSpec(o.partition);
  } catch (err) {
    if (err instanceof PartitionError) throw new CliUsageError(`train: --partition: ${err.message}`);
    throw err;
  }
  return {
    help,
    version,
    data: o.data,
    dataOptions,
    model: o.model,
    epochs: o.epochs,
    batchSize: o['batch-size'],
    learningRate: o['learning-rate'] ?? defaultLearningRate(o.optimizer),
    optimizer: o.optimizer,
    partition: o.partition,
    nodeIndex: o['node-index'],
    numNodes: o['num-nodes'],
    seed: o.seed,
    backend: o.backend,
    checkpoint: o.checkpoint ?? null,
    maxSteps: o['max-steps'] ?? null,
    json: o.json ?? null,
  };
}
