/**
 * `npm run bench:join`: how much sooner does a node that joins a trained
 * swarm get good when it distills from a teacher instead of starting cold?
 *
 * 1. Trains a small swarm in-process on non-IID data (each node its own
 *    partition; local steps, then push-pull averaging with a random peer).
 * 2. Picks the teacher as the daemon does (best accuracy), encodes its model
 *    as the distill protocol's answer (registry name + hash + codec snapshot)
 *    and decodes it as a joiner would: the bytes are the real message sizes.
 *    With `--model PATH/model.json` there is no teacher (the distill protocol
 *    names registry models only; a daemon with a model file joins by gossip
 *    alone): only `cold` runs, and the output says the other modes were skipped.
 * 3. Joins one new node (its own partition) five ways, side by side:
 *    cold (random mlp, local training), copy (teacher weights, then local
 *    training), kd (teacher weights, then distillation), cold-small (random
 *    mlp-small) and kd-small (distillation into mlp-small).
 *    For each: local steps and training seconds until accuracy on the FULL
 *    test split is within 2 points of the swarm's mean (distillation steps
 *    count, so never 0; null if never within the budget), accuracy after the
 *    budget, bytes transferred.
 *
 *   npm run bench:join -- [--data mnist] [--model mlp] [--partition dirichlet:0.5] [--nodes 4]
 *     [--swarm-rounds 40] [--swarm-steps 40] [--budget 3000] [--temperature 2] [--alpha 0.5]
 *     [--codec q8+deflate] [--optimizer sgd] [--learning-rate 0.05] [--seed 1] [--json FILE]
 *
 * Seconds exclude evaluation time. This is a measurement, not a test: the
 * machine is shared and noisy, so modes run in one process, one after the other.
 *
 * The benchmark lives in src/bench/join.ts.
 */
import { writeFile } from 'node:fs/promises';
import { formatJoinBenchReport, JOIN_MODES, joinBenchJson, runJoinBenchmark, type JoinMode } from '../src/bench/join.ts';
import { benchDataOptions, isBenchInputError } from '../src/bench/bench-data.ts';
import { DATA_SCHEMA_SCRIPT_OPTIONS } from '../src/cli/data-flags.ts';
import { exitScriptUsage, parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { createCodec } from '../src/protocol/codec/index.ts';
import { isBackendName } from '../src/train/backend.ts';
import { DATA_SPEC_HELP } from '../src/train/dataset.ts';
import type { DistillOptimizerName } from '../src/train/distill.ts';
import { MODEL_SPEC_CHOICES, modelSpecProblem } from '../src/train/model-spec.ts';

const NAME = 'bench:join';
const { values: args } = parseScriptArgs({
  name: NAME,
  usage: 'npm run bench:join -- [options]',
  summary: `How much sooner does a node that joins a trained swarm get good when it
distills from a teacher instead of starting cold? Trains a small swarm
in-process on non-IID data, encodes the best node's model as the distill
protocol's answer, then joins one new node five ways side by side (cold,
copy, kd, cold-small, kd-small): steps and seconds until it is within
--target-gap of the swarm's mean accuracy on the full test split, accuracy
after --budget steps, bytes transferred.`,
  options: {
    data: { type: 'string', default: 'mnist', arg: 'SPEC', help: `data source: ${DATA_SPEC_HELP}` },
    ...DATA_SCHEMA_SCRIPT_OPTIONS,
    model: { type: 'string', default: 'mlp', arg: 'SPEC', help: `model of the swarm and the joiner: ${MODEL_SPEC_CHOICES} (a model file has no distill teacher: only cold runs)` },
    partition: { type: 'string', default: 'dirichlet:0.5', arg: 'SPEC', help: 'partition of the swarm and the joiner' },
    nodes: { type: 'string', default: '4', arg: 'N', help: 'swarm nodes (the joiner is one more)' },
    'swarm-rounds': { type: 'string', default: '40', arg: 'N', help: 'swarm rounds of local steps then push-pull averaging' },
    'swarm-steps': { type: 'string', default: '40', arg: 'N', help: 'local steps per swarm round' },
    budget: { type: 'string', default: '3000', arg: 'N', help: "joiner's local step budget per mode" },
    temperature: { type: 'string', default: '2', arg: 'T', help: 'distillation temperature' },
    alpha: { type: 'string', default: '0.5', arg: 'X', help: 'weight of the hard-label loss in distillation' },
    codec: { type: 'string', default: 'q8+deflate', arg: 'SPEC', help: "codec of the teacher's snapshot" },
    optimizer: { type: 'string', default: 'sgd', arg: 'NAME', help: 'sgd | momentum | adam' },
    'learning-rate': { type: 'string', default: '0.05', arg: 'X', help: 'step size' },
    'batch-size': { type: 'string', default: '32', arg: 'N', help: 'rows per step' },
    'target-gap': { type: 'string', default: '0.02', arg: 'X', help: "accuracy gap to the swarm's mean that counts as good" },
    backend: { type: 'string', default: 'auto', arg: 'NAME', help: 'auto | tensorflow | wasm | cpu' },
    modes: { type: 'string', default: JOIN_MODES.join(','), arg: 'LIST', help: 'join modes to run' },
    seed: { type: 'string', default: '1', arg: 'S', help: 'seed of partitions, models and shuffling' },
    json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
  },
});

const int = (flag: string, raw: string): number => scriptNumber(raw, `--${flag}`, NAME, { integer: true, min: 1 });
const num = (flag: string, raw: string, check: { min?: number; positive?: boolean }): number => scriptNumber(raw, `--${flag}`, NAME, check);
const numSwarmNodes = int('nodes', args.nodes);
const swarmRounds = int('swarm-rounds', args['swarm-rounds']);
const swarmSteps = int('swarm-steps', args['swarm-steps']);
const budgetSteps = int('budget', args.budget);
const temperature = num('temperature', args.temperature, { positive: true });
const alpha = num('alpha', args.alpha, { min: 0 });
const learningRate = num('learning-rate', args['learning-rate'], { positive: true });
const batchSize = int('batch-size', args['batch-size']);
const targetGap = num('target-gap', args['target-gap'], { min: 0 });
const seed = scriptNumber(args.seed, '--seed', NAME, { integer: true, min: 0 });
const optimizer = args.optimizer as DistillOptimizerName;
if (!['sgd', 'momentum', 'adam'].includes(optimizer)) exitScriptUsage(`${NAME}: --optimizer must be sgd | momentum | adam (got '${optimizer}')`);
const selectedModes = args.modes.split(',').map((m) => m.trim());
for (const m of selectedModes) if (!(JOIN_MODES as readonly string[]).includes(m)) exitScriptUsage(`${NAME}: --modes: unknown mode '${m}' (expected ${JOIN_MODES.join(', ')})`);
let codec: ReturnType<typeof createCodec>;
try {
  codec = createCodec(args.codec);
} catch (err) {
  exitScriptUsage(`${NAME}: --codec: ${(err as Error).message}`);
}
const modelProblem = modelSpecProblem(args.model);
if (modelProblem !== null) exitScriptUsage(`${NAME}: --model: ${modelProblem}`);
const dataOptions = benchDataOptions(NAME, args);
if (args.backend !== 'auto' && !isBackendName(args.backend)) exitScriptUsage(`${NAME}: --backend must be auto | tensorflow | wasm | cpu (got '${args.backend}')`);

const result = await runJoinBenchmark({
  data: args.data,
  dataOptions,
  model: args.model,
  partition: args.partition,
  swarmNodes: numSwarmNodes,
  swarmRounds,
  swarmSteps,
  budgetSteps,
  temperature,
  alpha,
  codec,
  codecSpec: args.codec,
  optimizer,
  learningRate,
  batchSize,
  targetGap,
  backend: args.backend as 'auto',
  modes: selectedModes as JoinMode[],
  seed,
  log: (line) => console.log(line),
}).catch((err: unknown) => (isBenchInputError(err) ? exitScriptUsage(`${NAME}: ${err.message}`) : Promise.reject(err)));
console.log(formatJoinBenchReport(result));

if (args.json !== undefined) {
  await writeFile(args.json, `${JSON.stringify(joinBenchJson(result), null, 2)}\n`);
  console.log(`wrote ${args.json}`);
}
