/**
 * The join benchmark behind `npm run bench:join`: how much sooner does a
 * node that joins a trained swarm get good when it distills from a teacher
 * instead of starting cold? It trains a small swarm in-process on non-IID
 * data (local steps, then push-pull averaging of random pairs), picks the
 * teacher as the daemon does (best accuracy), encodes its model as the
 * distill protocol's answer and decodes it as a joiner would (so the bytes
 * are the real message sizes), then joins one new node several ways side by
 * side: cold, copy (teacher weights, then local training), kd (distillation),
 * cold-small and kd-small (into mlp-small). The swarm and the joiner run
 * `model` (mlp by default; a registry name or `PATH/model.json`, built as
 * the daemon builds it, src/train/model-spec.ts). A model file's swarm has
 * no teacher: the distill protocol names registry models only, so a daemon
 * with a model file joins by gossip alone (src/node/distill-joiner.ts);
 * here only `cold` runs then, and the other modes are reported as skipped,
 * with that reason. Per mode: local steps and
 * training seconds until accuracy on the FULL test split is within a gap of
 * the swarm's mean (distillation steps count; null if never within the
 * budget), accuracy after the budget, bytes transferred. Seconds exclude
 * evaluation; modes run one after the other in one process.
 */
import type * as tf from '@tensorflow/tfjs';
import { formatTable } from '../cli/table.ts';
import type { Codec } from '../protocol/codec/index.ts';
import { decodeDistillAnswer, encodeDistillModel, encodeDistillRequest } from '../protocol/distill-messages.ts';
import { DEFAULT_FRAME_LIMITS } from '../protocol/frame.ts';
import { initBackend, type BackendName } from '../train/backend.ts';
import { loadDataset, type DataOptions, type Split } from '../train/dataset.ts';
import { Distiller, type DistillOptimizerName } from '../train/distill.ts';
import { buildTeacher } from '../train/distill-join.ts';
import { weightedAverage } from '../train/merge.ts';
import { buildReplica, modelSpecImageShape, type ModelIdentity } from '../train/model-spec.ts';
import { modelLine } from './bench-model.ts';
import { createModel, isModelFile, isModelName, modelHash, modelNames, type ModelName, type ModelOptions } from '../train/models.ts';
import { getFlatParams, paramCount, setFlatParams } from '../train/params.ts';
import { partitionIndices, subsetSplit } from '../train/partition.ts';
import { createRandom, deriveSeed, permutation } from '../train/random.ts';
import { evaluateModel, Trainer } from '../train/trainer.ts';

export const JOIN_MODES = ['cold', 'copy', 'kd', 'cold-small', 'kd-small'] as const;
export type JoinMode = (typeof JOIN_MODES)[number];

export interface JoinBenchOptions {
  data: string;
  /** The data schema and test set (--classes, --csv-delimiter, --normalization, --test-data), as a daemon reads them. */
  dataOptions: DataOptions;
  /** The swarm's model (and the joiner's, but in the -small modes): a registry name or `PATH/model.json`. */
  model: string;
  partition: string;
  /** Swarm nodes; the joiner takes one more partition. */
  swarmNodes: number;
  swarmRounds: number;
  swarmSteps: number;
  /** The joiner's local step budget per mode. */
  budgetSteps: number;
  temperature: number;
  alpha: number;
  /** Codec of the teacher's snapshot, and its spec as given. */
  codec: Codec;
  codecSpec: string;
  optimizer: DistillOptimizerName;
  learningRate: number;
  batchSize: number;
  /** Accuracy gap to the swarm's mean that counts as good. */
  targetGap: number;
  backend: BackendName | 'auto';
  modes: JoinMode[];
  seed: number;
  log: (line: string) => void;
}

export interface JoinRunResult {
  mode: JoinMode;
  /** The joiner's model: the swarm's spec, or mlp-small. */
  model: string;
  stepsToTarget: number | null;
  secondsToTarget: number | null;
  accuracyAtStart: number;
  accuracyAfterBudget: number;
  bytes: number;
  trainSeconds: number;
}

export interface JoinBenchResult {
  options: JoinBenchOptions;
  backend: BackendName;
  target: number;
  swarmAccuracies: number[];
  swarmMean: number;
  teacherIndex: number;
  /** The swarm's model as peers see it. */
  model: ModelIdentity;
  /** Modes asked for but not run, and why (a model file's swarm has no distill teacher). */
  skipped: Array<{ mode: JoinMode; reason: string }>;
  testCount: number;
  /** What accuracy is measured on: the --test-data spec, or `held-out rows of <data>` (the daemon's metrics say the same). */
  testSet: string;
  joinerSamples: number;
  runs: JoinRunResult[];
  /** From the start of runJoinBenchmark to its end. */
  totalSeconds: number;
}

/** Why a mode cannot run for a swarm of a model file (the daemon's distill join skips such nodes: src/node/distill-joiner.ts). */
const NO_TEACHER_REASON: Record<Exclude<JoinMode, 'cold'>, string> = {
  copy: 'a model file has no distill teacher (the distill protocol names registry models only; such a node joins by gossip alone)',
  kd: 'a model file has no distill teacher (the distill protocol names registry models only; such a node joins by gossip alone)',
  'kd-small': 'a model file has no distill teacher (the distill protocol names registry models only; such a node joins by gossip alone)',
  'cold-small': 'an mlp-small joiner could neither gossip with a model-file swarm nor distill from it (it is only the baseline of kd-small)',
};

/** One line per distinct reason: "skipped copy, kd: <reason>". */
function skippedLines(skipped: ReadonlyArray<{ mode: JoinMode; reason: string }>): string[] {
  const byReason = new Map<string, JoinMode[]>();
  for (const s of skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.mode]);
  return [...byReason].map(([reason, modes]) => `skipped ${modes.join(', ')}: ${reason}`);
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

interface SwarmNode {
  model: tf.LayersModel;
  trainer: Trainer;
  local: Split;
}

/** Trains the swarm, builds the teacher from its answer on the wire, runs every mode; logs progress lines. */
export async function runJoinBenchmark(options: JoinBenchOptions): Promise<JoinBenchResult> {
  const { seed, batchSize, learningRate, optimizer, temperature, alpha, budgetSteps, log } = options;
  const numSwarmNodes = options.swarmNodes;
  const benchStarted = performance.now();
  const backend = await initBackend(options.backend);
  const data = await loadDataset(options.data, { ...options.dataOptions, imageShape: await modelSpecImageShape(options.model) });
  const modelOptions = { featureCount: data.featureCount, imageShape: data.imageShape, numClasses: data.numClasses };
  const { featureCount, numClasses } = data;
  const numNodes = numSwarmNodes + 1; // the last index is the joiner's partition
  const localSplit = (nodeIndex: number): Split =>
    subsetSplit(data.train, featureCount, partitionIndices(options.partition, data.train.y, numClasses, { seed, nodeIndex, numNodes }));
  const accuracyOf = (model: tf.LayersModel): number => evaluateModel(model, data.test, featureCount, numClasses).accuracy;

  log(`bench:join  backend ${backend}, data ${options.data} (${data.train.count} train / ${data.test.count} test), partition ${options.partition}, seed ${seed}`);

  // A model file's swarm has no teacher: the distill protocol names registry models only (the daemon skips the distill join for it).
  const noTeacher = isModelFile(options.model);
  const skipped = noTeacher ? options.modes.filter((mode) => mode !== 'cold').map((mode) => ({ mode, reason: NO_TEACHER_REASON[mode] })) : [];
  for (const line of skippedLines(skipped)) log(line);

  // ---- 1. The swarm -----------------------------------------------------------------
  const swarm: SwarmNode[] = [];
  let swarmModel: ModelIdentity | null = null;
  for (let i = 0; i < numSwarmNodes; i++) {
    const local = localSplit(i);
    const { model, ...identity } = await buildReplica(options.model, data, deriveSeed(seed, 'swarm-init')); // gossip swarms share an initialization seed
    swarmModel ??= identity;
    swarm.push({ model, local, trainer: new Trainer({ model, train: local, featureCount, numClasses, batchSize, learningRate, optimizer, seed: deriveSeed(seed, 'swarm', i) }) });
  }
  log(modelLine(options.model, swarmModel!));
  const pairing = createRandom(deriveSeed(seed, 'pairing'));
  const swarmStarted = performance.now();
  for (let round = 0; round < options.swarmRounds; round++) {
    for (const node of swarm) await node.trainer.trainSteps(options.swarmSteps);
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
  const target = swarmMean - options.targetGap;
  const teacherIndex = swarmAccuracies.indexOf(Math.max(...swarmAccuracies));
  log(
    `swarm: ${numSwarmNodes} x ${options.model}, ${options.swarmRounds} rounds x ${options.swarmSteps} local steps, ${((performance.now() - swarmStarted) / 1000).toFixed(1)} s; ` +
      `accuracy ${swarmAccuracies.map(pct).join(' ')} (mean ${pct(swarmMean)}); target ${pct(target)}; teacher node ${teacherIndex}`,
  );

  // ---- 2. The teacher's answer, as on the wire ---------------------------------------
  const teacher = noTeacher ? null : teacherOnTheWire(swarm[teacherIndex]!, options.model as ModelName, options, modelOptions, accuracyOf, log);
  for (const node of swarm) node.trainer.dispose();

  // ---- 3. The joiner, each way -------------------------------------------------------
  const joinerData = localSplit(numSwarmNodes);
  const labelCounts = new Array<number>(numClasses).fill(0);
  for (const label of joinerData.y) labelCounts[label]!++;
  log(`joiner: ${joinerData.count} local samples, per class [${labelCounts.join(' ')}]; budget ${budgetSteps} steps, batch ${batchSize}, ${optimizer} lr ${learningRate}, T ${temperature}, alpha ${alpha}`);

  /** Evaluate densely at first (the interesting part for fast joins), then sparser. */
  function isEvalStep(step: number): boolean {
    if (step <= 5) return true;
    if (step <= 50) return step % 5 === 0;
    if (step <= 200) return step % 10 === 0;
    if (step <= 1000) return step % 25 === 0 || step === budgetSteps;
    return step % 50 === 0 || step === budgetSteps;
  }

  async function runMode(mode: JoinMode): Promise<JoinRunResult> {
    const modelName = mode.endsWith('-small') ? 'mlp-small' : options.model;
    const { model } = await buildReplica(modelName, data, deriveSeed(seed, 'joiner-init'));
    const usesTeacher = mode !== 'cold' && mode !== 'cold-small';
    if (usesTeacher && teacher === null) throw new Error(`join mode ${mode} needs a teacher`); // skipped above for a model file
    if (mode === 'copy' || (mode === 'kd' && modelHash(model) === teacher!.modelHash)) setFlatParams(model, teacher!.params);
    const accuracyAtStart = accuracyOf(model);
    const stepSeed = deriveSeed(seed, 'joiner-steps');
    let step: () => void;
    let release: () => void;
    if (mode === 'kd' || mode === 'kd-small') {
      const distiller = new Distiller({ teacher: teacher!.model, student: model, train: joinerData, featureCount, numClasses, batchSize, learningRate, optimizer, temperature, alpha, seed: stepSeed });
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
    return { mode, model: modelName, stepsToTarget, secondsToTarget, accuracyAtStart, accuracyAfterBudget: accuracy, bytes: usesTeacher ? teacher!.transferBytes : 0, trainSeconds: trainMs / 1000 };
  }

  const runs: JoinRunResult[] = [];
  for (const mode of options.modes.filter((m) => !skipped.some((s) => s.mode === m))) {
    const run = await runMode(mode);
    runs.push(run);
    log(`  ${mode}: done in ${run.trainSeconds.toFixed(1)} s of training`);
  }
  teacher?.model.dispose();
  return {
    options,
    backend,
    target,
    swarmAccuracies,
    swarmMean,
    teacherIndex,
    model: swarmModel!,
    skipped,
    testCount: data.test.count,
    testSet: data.testSource ?? `held-out rows of ${data.name}`,
    joinerSamples: joinerData.count,
    runs,
    totalSeconds: (performance.now() - benchStarted) / 1000,
  };
}

/** The teacher as a joiner receives it: its distill answer (model, hash, parameters) and the request + answer bytes. */
interface ReceivedTeacher {
  model: tf.LayersModel;
  modelHash: string;
  params: Float32Array;
  transferBytes: number;
}

/** Encodes the teacher node's model as the distill protocol's answer and decodes it as a joiner would (registry models only). */
function teacherOnTheWire(
  teacherNode: SwarmNode,
  modelName: ModelName,
  options: JoinBenchOptions,
  modelOptions: Omit<ModelOptions, 'seed'>,
  accuracyOf: (model: tf.LayersModel) => number,
  log: (line: string) => void,
): ReceivedTeacher {
  const teacherHash = modelHash(teacherNode.model);
  const requestBytes = encodeDistillRequest({ swarmId: 'bench', incarnation: 'joiner', wantedModel: null }).length;
  const answerFrame = encodeDistillModel(
    { swarmId: 'bench', incarnation: 'teacher', modelName, modelHash: teacherHash, params: getFlatParams(teacherNode.model), age: teacherNode.trainer.age, samplesSeen: teacherNode.trainer.samplesSeen },
    options.codec,
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
  const model = buildTeacher(answer.modelName as ModelName, answer.params, modelOptions);
  log(`teacher answer: ${answerFrame.length} bytes (${options.codecSpec}, ${answer.params.length} params; f32 would be ${answer.params.length * 4}); received teacher accuracy ${pct(accuracyOf(model))}`);
  return { model, modelHash: answer.modelHash, params: answer.params, transferBytes: requestBytes + answerFrame.length };
}

/** Speed-up of `fast` over `slow` in steps; a slow run that never got there counts as the budget (lower bound). */
function speedup(result: JoinBenchResult, slow: JoinMode, fast: JoinMode): { ratio: number | null; lowerBound: boolean } {
  const s = result.runs.findLast((r) => r.mode === slow); // a mode given twice: its last run counts
  const f = result.runs.findLast((r) => r.mode === fast);
  if (s === undefined || f === undefined || f.stepsToTarget === null) return { ratio: null, lowerBound: false };
  return { ratio: (s.stepsToTarget ?? result.options.budgetSteps) / f.stepsToTarget, lowerBound: s.stepsToTarget === null };
}

/** The closing report: a blank line, the target line, the table, the speed-ups, the total time. */
export function formatJoinBenchReport(result: JoinBenchResult): string {
  const { budgetSteps, targetGap } = result.options;
  const header = ['mode', 'model', 'acc@0', 'steps→target', 's→target', 'acc@budget', 'bytes'];
  const rows = result.runs.map((r) => [
    r.mode,
    r.model,
    pct(r.accuracyAtStart),
    r.stepsToTarget === null ? `never (>${budgetSteps})` : String(r.stepsToTarget),
    r.secondsToTarget === null ? '-' : r.secondsToTarget.toFixed(2),
    pct(r.accuracyAfterBudget),
    String(r.bytes),
  ]);
  const lines = [
    '',
    modelLine(result.options.model, result.model),
    `target: within ${(100 * targetGap).toFixed(0)} points of the swarm mean ${pct(result.swarmMean)} = ${pct(result.target)} on the full test split (${result.testCount} samples, ${result.testSet})`,
    formatTable(header, rows, { leftColumns: header.length, rule: true }),
  ];
  const has = (mode: JoinMode): boolean => result.runs.some((r) => r.mode === mode);
  for (const [slow, fast] of [['cold', 'kd'], ['cold-small', 'kd-small'], ['cold', 'copy']] as Array<[JoinMode, JoinMode]>) {
    const { ratio, lowerBound } = speedup(result, slow, fast);
    if (has(slow) && has(fast)) {
      lines.push(`${fast} vs ${slow}: ${ratio === null ? `${fast} never reached the target` : `${lowerBound ? '>= ' : ''}${ratio.toFixed(1)}x sooner (steps)`}`);
    }
  }
  lines.push(...skippedLines(result.skipped));
  lines.push(`total ${result.totalSeconds.toFixed(0)} s`);
  return lines.join('\n');
}

/** The --json document. */
export function joinBenchJson(result: JoinBenchResult): Record<string, unknown> {
  const o = result.options;
  return {
    target: result.target,
    budgetSteps: o.budgetSteps,
    model: { spec: o.model, ...result.model },
    skipped: result.skipped,
    runs: result.runs.map((r) => ({ mode: r.mode, model: r.model, stepsToTarget: r.stepsToTarget, secondsToTarget: r.secondsToTarget, accuracyAfterBudget: r.accuracyAfterBudget, bytes: r.bytes })),
    swarm: { nodes: o.swarmNodes, rounds: o.swarmRounds, stepsPerRound: o.swarmSteps, accuracies: result.swarmAccuracies, meanAccuracy: result.swarmMean, teacherIndex: result.teacherIndex },
    settings: { data: o.data, testSet: result.testSet, partition: o.partition, backend: result.backend, codec: o.codecSpec, optimizer: o.optimizer, learningRate: o.learningRate, batchSize: o.batchSize, temperature: o.temperature, alpha: o.alpha, seed: o.seed, joinerSamples: result.joinerSamples },
    speedups: {
      kdVsCold: speedup(result, 'cold', 'kd'),
      kdSmallVsColdSmall: speedup(result, 'cold-small', 'kd-small'),
    },
  };
}
