/**
 * `npm run bench:accuracy`: centralized training of `mlp` and `cnn` on the
 * full Fashion-MNIST training set (60k) for a fixed number of epochs, then
 * accuracy on the full test set (10k): the baseline that gossip runs are
 * compared against. One process, one backend (auto: wasm here). Without the
 * Debian package dataset-fashion-mnist it says so and uses embedded mnist.
 *
 *   npm run bench:accuracy -- [--models mlp,cnn] [--data fashion-mnist] [--epochs-mlp 6] [--epochs-cnn 5]
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
import { exitScriptUsage, parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { isBackendName } from '../src/train/backend.ts';
import { isModelName, type ModelName } from '../src/train/models.ts';

const NAME = 'bench:accuracy';
const { values: args } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:accuracy -- [options]',
  summary: `Centralized training of each model on the full training set for a fixed
number of epochs, then accuracy on the full test split: the baseline gossip
runs are compared to. Falls back to the embedded mnist when Fashion-MNIST is
not installed (apt-get install dataset-fashion-mnist).`,
  options: {
    models: { type: 'string', default: 'mlp,cnn', arg: 'LIST', help: 'registry models: mlp | mlp-small | cnn' },
    data: { type: 'string', default: 'fashion-mnist', arg: 'SPEC', help: 'data source' },
    'epochs-mlp': { type: 'string', default: '6', arg: 'N', help: 'epochs of mlp' },
    'epochs-cnn': { type: 'string', default: '5', arg: 'N', help: 'epochs of cnn' },
    'epochs-mlp-small': { type: 'string', default: '6', arg: 'N', help: 'epochs of mlp-small' },
    'batch-size': { type: 'string', default: '32', arg: 'N', help: 'rows per adam step' },
    'learning-rate': { type: 'string', default: '0.001', arg: 'X', help: 'adam step size' },
    backend: { type: 'string', default: 'auto', arg: 'NAME', help: 'auto | tensorflow | wasm | cpu' },
    'max-minutes': { type: 'string', default: '19', arg: 'M', help: 'bound on the whole run; a model training at the deadline stops there' },
    json: { type: 'string', arg: 'FILE', help: 'write the figures as JSON here' },
  },
});

const models = args.models.split(',');
for (const name of models) if (!isModelName(name)) exitScriptUsage(`${NAME}: --models: unknown model '${name}'`);
const batchSize = scriptNumber(args['batch-size'], '--batch-size', NAME, { integer: true, min: 1 });
const learningRate = scriptNumber(args['learning-rate'], '--learning-rate', NAME, { positive: true });
const maxMinutes = scriptNumber(args['max-minutes'], '--max-minutes', NAME, { min: 0 });
if (args.backend !== 'auto' && !isBackendName(args.backend)) exitScriptUsage(`${NAME}: --backend: unknown backend '${args.backend}'`);

const result = await runAccuracyBenchmark({
  models: models as ModelName[],
  data: args.data,
  epochs: { mlp: Number(args['epochs-mlp']), 'mlp-small': Number(args['epochs-mlp-small']), cnn: Number(args['epochs-cnn']) },
  batchSize,
  learningRate,
  backend: args.backend as 'auto',
  maxMinutes,
  maxMinutesText: args['max-minutes'],
  log: (line) => console.log(line),
});
console.log(formatAccuracyBenchReport(result, { batchSize, learningRate }));
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
