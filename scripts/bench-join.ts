/**
 * `npm run bench:join`: how much sooner does a node that joins a trained
 * swarm get good when it distills from a teacher instead of starting cold?
 *
 * 1. Trains a small swarm in-process on non-IID data (each node its own
 *    partition; local steps, then push-pull averaging with a random peer).
 * 2. Picks the teacher as the daemon does (best accuracy), encodes its model
 *    as the distill protocol's answer (registry name + hash + codec snapshot)
 *    and decodes it as a joiner would: the bytes are the real message sizes.
 * 3. Joins one new node (its own partition) five ways, side by side:
 *    cold (random mlp, local training), copy (teacher weights, then local
 *    training), kd (teacher weights, then distillation), cold-small (random
 *    mlp-small) and kd-small (distillation into mlp-small).
 *    For each: local steps and training seconds until accuracy on the FULL
 *    test split is within 2 points of the swarm's mean (distillation steps
 *    count, so never 0; null if never within the budget), accuracy after the
 *    budget, bytes transferred.
 *
 *   npm run bench:join -- [--data mnist] [--partition dirichlet:0.5] [--nodes 4]
 *     [--swarm-rounds 40] [--swarm-steps 40] [--budget 3000] [--temperature 2] [--alpha 0.5]
 *     [--codec q8+deflate] [--optimizer sgd] [--learning-rate 0.05] [--seed 1] [--json FILE]
 *
 * Seconds exclude evaluation time. This is a measurement, not a test: the
 * machine is shared and noisy, so modes run in one process, one after the other.
 */
import { writeFile } from 'node:fs/promises';
import { exitScriptUsage, parseScriptArgs, scriptNumber } from '../src/cli/script-args.ts';
import { formatTable } from '../src/cli/table.ts';
import * as tf from '@tensorflow/tfjs';
import { createCodec } from '../src/protocol/codec/index.ts';
import { decodeDistillAnswer, encodeDistillModel, encodeDistillRequest } from '../src/protocol/distill-messages.ts';
import { DEFAULT_FRAME_LIMITS } from '../src/protocol/frame.ts';
import { initBackend, isBackendName } from '../src/train/backend.ts';
import { loadDataset, type Split } from '../src/train/dataset.ts';
import { Distiller, type DistillOptimizerName } from '../src/train/distill.ts';
import { buildTeacher } from '../src/train/distill-join.ts';
import { weightedAverage } from '../src/train/merge.ts';
import { createModel, isModelName, modelHash, modelNames, type ModelName } from '../src/train/models.ts';
import { getFlatParams, paramCount, setFlatParams } from '../src/train/params.ts';
import { partitionIndices, subsetSplit } from '../src/train/partition.ts';
import { createRandom, deriveSeed, permutation } from '../src/train/random.ts';
import { evaluateModel, Trainer } from '../src/train/trainer.ts';

const modes = ['cold', 'copy', 'kd', 'cold-small', 'kd-small'] as const;
type Mode = (typeof modes)[number];

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
    data: { type: 'string', default: 'mnist', arg: 'SPEC', help: 'data source' },
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
    modes: { type: 'string', default: modes.join(','), arg: 'LIST', help: 'join modes to run' },
    seed: { type: 'string', default: '1', arg: 'S', help: 'seed of partitions, models and shuffling' },
    json: { type: 'string', arg: 'FILE', help: 'write the figures as JSON here' },
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
for (const m of selectedModes) if (!(modes as readonly string[]).includes(m)) exitScriptUsage(`${NAME}: --modes: unknown mode '${m}' (expected ${modes.join(', ')})`);
let codec: ReturnType<typeof createCodec>;
try {
  codec = createCodec(args.codec);
} catch (err) {
  exitScriptUsage(`${NAME}: --codec: ${(err as Error).message}`);
}
if (args.backend !== 'auto' && !isBackendName(args.backend)) exitScriptUsage(`${NAME}: --backend must be auto | tensorflow | wasm | cpu (got '${args.backend}')`);

const benchStarted = performance.now();
const backend = await initBackend(args.backend as 'auto');
const data = await loadDataset(args.data);
const modelOptions = { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses };
const { featureCount, numClasses } = data;
const numNodes = numSwarmNodes + 1; // the last index is the joiner's partition
const localSplit = (nodeIndex: number): Split =>
  subsetSplit(data.train, featureCount, partitionIndices(args.partition, data.train.y, numClasses, { seed, nodeIndex, numNodes }));
const accuracyOf = (model: tf.LayersModel): number => evaluateModel(model, data.test, featureCount, numClasses).accuracy;
const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

console.log(`bench:join  backend ${backend}, data ${args.data} (${data.train.count} train / ${data.test.count} test), partition ${args.partition}, seed ${seed}`);

// ---- 1. The swarm -----------------------------------------------------------------
interface SwarmNode {
  model: tf.LayersModel;
  trainer: Trainer;
  local: Split;
}
const swarm: SwarmNode[] = [];
for (let i = 0; i < numSwarmNodes; i++) {
  const local = localSplit(i);
  const model = createModel('mlp', { ...modelOptions, seed: deriveSeed(seed, 'swarm-init') }); // gossip swarms share an initialization seed
  swarm.push({ model, local, trainer: new Trainer({ model, train: local, featureCount, numClasses, batchSize, learningRate, optimizer, seed: deriveSeed(seed, 'swarm', i) }) });
}
const pairing = createRandom(deriveSeed(seed, 'pairing'));
const swarmStarted = performance.now();
for (let round = 0; round < swarmRounds; round++) {
  for (const node of swarm) await node.trainer.trainSteps(swarmSteps);
  // Push-pull gossip: random disjoint pairs average their models.
  const order = permutation(numSwarmNodes, pairing);
  for (let p = 0; p + 1 < order.length; p += 2) {
    const a = swarm[order[p]!]!;
    const b = swarm[order[p + 1]!]!;
    const average = weightedAverage(new Float32Array(paramCount(a.model)), [getFlatParams(a.model), getFlatParams(b.model)], [0.5, 0.5]);
    setFlatParams(a.model, average);
    setFlatParams(b.model, average);
  }
}
const swarmAccuracies = swarm.map((node) => accuracyOf(node.model));
const swarmMean = swarmAccuracies.reduce((a, b) => a + b, 0) / swarmAccuracies.length;
const target = swarmMean - targetGap;
const teacherIndex = swarmAccuracies.indexOf(Math.max(...swarmAccuracies));
const teacherNode = swarm[teacherIndex]!;
console.log(
  `swarm: ${numSwarmNodes} x mlp, ${swarmRounds} rounds x ${swarmSteps} local steps, ${((performance.now() - swarmStarted) / 1000).toFixed(1)} s; ` +
    `accuracy ${swarmAccuracies.map(pct).join(' ')} (mean ${pct(swarmMean)}); target ${pct(target)}; teacher node ${teacherIndex}`,
);

// ---- 2. The teacher's answer, as on the wire ---------------------------------------
const teacherHash = modelHash(teacherNode.model);
const requestBytes = encodeDistillRequest({ swarmId: 'bench', incarnation: 'joiner', wantedModel: null }).length;
const answerFrame = encodeDistillModel(
  { swarmId: 'bench', incarnation: 'teacher', modelName: 'mlp', modelHash: teacherHash, params: getFlatParams(teacherNode.model), age: teacherNode.trainer.age, samplesSeen: teacherNode.trainer.samplesSeen },
  codec,
);
const registryShapes = new Map<string, { modelHash: string; paramCount: number }>();
const answer = decodeDistillAnswer(answerFrame, {
  swarmId: 'bench',
  frameLimits: DEFAULT_FRAME_LIMITS,
  registryModelNames: modelNames,
  resolveModel: (name) => {
    let shape = registryShapes.get(name);
    if (shape === undefined && isModelName(name)) {
      const probe = createModel(name, { ...modelOptions, seed: 0 });
      shape = { modelHash: modelHash(probe), paramCount: paramCount(probe) };
      probe.dispose();
      registryShapes.set(name, shape);
    }
    if (shape === undefined) throw new Error(`not a registry model: ${name}`);
    return shape;
  },
});
if (answer.kind !== 'model') throw new Error('the teacher answered BUSY in-process');
const teacherModel = answer;
const transferBytes = requestBytes + answerFrame.length;
const receivedTeacher = buildTeacher(answer.modelName as ModelName, answer.params, modelOptions);
console.log(`teacher answer: ${answerFrame.length} bytes (${args.codec}, ${answer.params.length} params; f32 would be ${answer.params.length * 4}); received teacher accuracy ${pct(accuracyOf(receivedTeacher))}`);
for (const node of swarm) node.trainer.dispose();

// ---- 3. The joiner, five ways ------------------------------------------------------
const joinerData = localSplit(numSwarmNodes);
const labelCounts = new Array<number>(numClasses).fill(0);
for (const label of joinerData.y) labelCounts[label]!++;
console.log(`joiner: ${joinerData.count} local samples, per class [${labelCounts.join(' ')}]; budget ${budgetSteps} steps, batch ${batchSize}, ${optimizer} lr ${learningRate}, T ${temperature}, alpha ${alpha}`);

/** Evaluate densely at first (the interesting part for fast joins), then sparser. */
function isEvalStep(step: number): boolean {
  if (step <= 5) return true;
  if (step <= 50) return step % 5 === 0;
  if (step <= 200) return step % 10 === 0;
  if (step <= 1000) return step % 25 === 0 || step === budgetSteps;
  return step % 50 === 0 || step === budgetSteps;
}

interface RunResult {
  mode: Mode;
  model: ModelName;
  stepsToTarget: number | null;
  secondsToTarget: number | null;
  accuracyAtStart: number;
  accuracyAfterBudget: number;
  bytes: number;
  trainSeconds: number;
}

async function runMode(mode: Mode): Promise<RunResult> {
  const modelName: ModelName = mode.endsWith('-small') ? 'mlp-small' : 'mlp';
  const model = createModel(modelName, { ...modelOptions, seed: deriveSeed(seed, 'joiner-init') });
  const usesTeacher = mode !== 'cold' && mode !== 'cold-small';
  if (mode === 'copy' || (mode === 'kd' && modelHash(model) === teacherModel.modelHash)) setFlatParams(model, teacherModel.params);
  const accuracyAtStart = accuracyOf(model);
  const stepSeed = deriveSeed(seed, 'joiner-steps');
  let step: () => void;
  let release: () => void;
  if (mode === 'kd' || mode === 'kd-small') {
    const distiller = new Distiller({ teacher: receivedTeacher, student: model, train: joinerData, featureCount, numClasses, batchSize, learningRate, optimizer, temperature, alpha, seed: stepSeed });
    step = () => void distiller.step();
    release = () => distiller.dispose();
  } else {
    const trainer = new Trainer({ model, train: joinerData, featureCount, numClasses, batchSize, learningRate, optimizer, seed: stepSeed });
    step = () => void trainer.trainSteps(1);
    release = () => trainer.dispose();
  }
  let trainMs = 0;
  let stepsToTarget: number | null = null;
  let secondsToTarget: number | null = null;
  let accuracy = accuracyAtStart;
  for (let s = 1; s <= budgetSteps; s++) {
    const t0 = performance.now();
    step();
    trainMs += performance.now() - t0;
    if (isEvalStep(s)) {
      accuracy = accuracyOf(model);
      if (stepsToTarget === null && accuracy >= target) {
        stepsToTarget = s;
        secondsToTarget = trainMs / 1000;
      }
    }
  }
  release();
  model.dispose();
  return { mode, model: modelName, stepsToTarget, secondsToTarget, accuracyAtStart, accuracyAfterBudget: accuracy, bytes: usesTeacher ? transferBytes : 0, trainSeconds: trainMs / 1000 };
}

const runs: RunResult[] = [];
for (const mode of selectedModes as Mode[]) {
  const run = await runMode(mode);
  runs.push(run);
  console.log(`  ${mode}: done in ${run.trainSeconds.toFixed(1)} s of training`);
}
receivedTeacher.dispose();

// ---- 4. Table ----------------------------------------------------------------------
const byMode = new Map(runs.map((r) => [r.mode, r]));
/** Speed-up of `fast` over `slow` in steps; a slow run that never got there counts as the budget (lower bound). */
function speedup(slow: Mode, fast: Mode): { ratio: number | null; lowerBound: boolean } {
  const s = byMode.get(slow);
  const f = byMode.get(fast);
  if (s === undefined || f === undefined || f.stepsToTarget === null) return { ratio: null, lowerBound: false };
  return { ratio: (s.stepsToTarget ?? budgetSteps) / f.stepsToTarget, lowerBound: s.stepsToTarget === null };
}
const header = ['mode', 'model', 'acc@0', 'steps→target', 's→target', 'acc@budget', 'bytes'];
const rows = runs.map((r) => [
  r.mode,
  r.model,
  pct(r.accuracyAtStart),
  r.stepsToTarget === null ? `never (>${budgetSteps})` : String(r.stepsToTarget),
  r.secondsToTarget === null ? '-' : r.secondsToTarget.toFixed(2),
  pct(r.accuracyAfterBudget),
  String(r.bytes),
]);
console.log(`\ntarget: within ${(100 * targetGap).toFixed(0)} points of the swarm mean ${pct(swarmMean)} = ${pct(target)} on the full test split (${data.test.count} samples)`);
console.log(formatTable(header, rows, { leftColumns: header.length, rule: true }));
for (const [slow, fast] of [['cold', 'kd'], ['cold-small', 'kd-small'], ['cold', 'copy']] as Array<[Mode, Mode]>) {
  const { ratio, lowerBound } = speedup(slow, fast);
  if (byMode.has(slow) && byMode.has(fast)) {
    console.log(`${fast} vs ${slow}: ${ratio === null ? `${fast} never reached the target` : `${lowerBound ? '>= ' : ''}${ratio.toFixed(1)}x sooner (steps)`}`);
  }
}
console.log(`total ${((performance.now() - benchStarted) / 1000).toFixed(0)} s`);

if (args.json !== undefined) {
  const json = {
    target,
    budgetSteps,
    runs: runs.map((r) => ({ mode: r.mode, stepsToTarget: r.stepsToTarget, secondsToTarget: r.secondsToTarget, accuracyAfterBudget: r.accuracyAfterBudget, bytes: r.bytes })),
    swarm: { nodes: numSwarmNodes, rounds: swarmRounds, stepsPerRound: swarmSteps, accuracies: swarmAccuracies, meanAccuracy: swarmMean, teacherIndex },
    settings: { data: args.data, partition: args.partition, backend, codec: args.codec, optimizer, learningRate, batchSize, temperature, alpha, seed, joinerSamples: joinerData.count },
    speedups: {
      kdVsCold: speedup('cold', 'kd'),
      kdSmallVsColdSmall: speedup('cold-small', 'kd-small'),
    },
  };
  await writeFile(args.json, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote ${args.json}`);
}
