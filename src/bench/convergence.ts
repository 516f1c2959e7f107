/**
 * The convergence benchmark (issues 9 and 14): how much accuracy gossip
 * learning buys per sample and per byte. Runs, for each seed of `--seeds`,
 * on the same data, partition, model and sample budget, side by side in one
 * process:
 *   centralized  one model on all the data (numNodes x the per-node budget)
 *   local        nodes train alone, never exchange
 *   f32          classic gossip learning (CLASSIC_F32: full float32 models
 *                every 5 local steps, plain capped average; what DISCO and
 *                gossipy do): the yardstick, independent of our defaults
 *   compressed   gossip with the daemon's defaults (codec, H, optimizer),
 *                plus every --codec and --byte-budgets given
 * in the simulator (src/sim/simulate.ts), which runs the daemon's gossip core
 * (sessions, codecs, aggregator, aggregation policy, peer sampling) on a
 * virtual clock. Every curve point is on the full test split; a run's
 * `bytesToTarget` is the bytes per node at its first point at or above the
 * seed's target, f32's final mean accuracy - 1 point.
 *
 *   npm run bench:convergence -- --seeds 1,2,3 --json convergence.json   # + convergence.svg
 *
 * Prints a table per seed and the issue's checks; `--json FILE` writes
 * `runs[]` of {mode, seed, codec, meanAccuracy, worstAccuracy, bytesToTarget,
 * curve[] {samples, bytesPerNode, meanAccuracy, worstAccuracy}} (the contract
 * in docs/architecture.md, plus extra fields).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_SCHEMA_SCRIPT_OPTIONS } from '../cli/data-flags.ts';
import { exitScriptUsage, parseScriptArgs, scriptNumber } from '../cli/script-args.ts';
import { parseByteSize } from '../common/byte-size.ts';
import { convergencePlotSvg, type PlotRun } from './convergence-plot.ts';
import { DEFAULT_CODEC_SPEC, isCodecSpec } from '../protocol/codec/index.ts';
import { DEFAULT_SNAPSHOT_CODEC_SPEC } from '../protocol/session.ts';
import { initBackend } from '../train/backend.ts';
import { DATA_SPEC_HELP, FASHION_MNIST_DEFAULT_DIR } from '../train/dataset.ts';
import { DEFAULT_PACING } from '../core/pacing.ts';
import { AGGREGATOR_NAMES, checkAggregatorName, DEFAULT_AGGREGATOR } from '../train/aggregators/index.ts';
import { DEFAULT_MERGE_OPTIONS } from '../train/merge.ts';
import { MODEL_SPEC_CHOICES, modelSpecProblem } from '../train/model-spec.ts';
import { benchDataOptions, benchDataset } from './bench-data.ts';
import { benchModel, modelLine } from './bench-model.ts';
import { parsePartitionSpec } from '../train/partition.ts';
import { DEFAULT_GOSSIP_TRAINING, OPTIMIZER_NAMES, TRAINING_DEFAULTS, type OptimizerName } from '../train/training-defaults.ts';
import { simulate } from '../sim/simulate.ts';
import { DP_BENCH_OPTIONS, runDpBench, type DpBenchRun } from './dp-bench.ts';
import type { CurvePoint, GossipSetup, SimulationResult, TrainingSetup } from '../sim/simulate.ts';

/** Per-node sample budget: ~3 passes over a node's share of Fashion-MNIST, sized so the whole default run fits in 30 minutes on the 2-core reference machine. */
export const DEFAULT_SAMPLES_PER_NODE = 24_000;
export const DEFAULT_EVAL_POINTS = 12;
/**
 * The same for every mode, and the same as the daemon's and `gossip-learn
 * train`'s defaults: src/train/training-defaults.ts (momentum SGD, not Adam,
 * and why).
 */
export const DEFAULT_TRAINING: TrainingSetup = { ...TRAINING_DEFAULTS };
/**
 * Gossip partners per node in the simulation: each pair of partners keeps
 * replicas that must be bootstrapped with a snapshot, so few sticky partners
 * cost far fewer bytes than calling everyone (measured, see the note).
 */
export const DEFAULT_SIM_PARTNERS = 3;

/** One benchmark row: a simulation's figures (less the per-node finals) with its mode, seed and final accuracies. */
export interface BenchRun extends Omit<SimulationResult, 'finalAccuracies' | 'privacy' | 'model'> {
  mode: 'centralized' | 'local' | 'f32' | 'compressed';
  seed: number;
  codec: string;
  meanAccuracy: number;
  worstAccuracy: number;
  /** Bytes per node at the first curve point at or above the seed's target (null: never, or a mode that sends nothing). */
  bytesToTarget: number | null;
  /** Only on the runs of --byte-budgets. */
  byteBudgetPerHour?: number;
  /** H of a compressed run. */
  localStepsPerExchange?: number;
  /** The label of the run in the tables and the plot. */
  label?: string;
}

/** Bytes per node when the curve first reaches `accuracy` (mean), or null if it never does. */
export function bytesToReach(curve: readonly CurvePoint[], accuracy: number): number | null {
  for (const p of curve) if (p.meanAccuracy >= accuracy) return p.bytesPerNode;
  return null;
}

function fmtBytes(n: number | null): string {
  if (n === null) return 'never';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 || c === 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

const NAME = 'bench:convergence';

/**
 * Classic gossip learning, the yardstick the issue fixes: full float32 models,
 * one exchange every interval of 5 local steps, plain capped weighted average
 * (gamma 1), float32 snapshots. Independent of the gossip defaults on purpose.
 */
export const CLASSIC_F32 = Object.freeze({ codec: 'f32', snapshotCodec: 'f32', gamma: 1, localStepsPerExchange: 0, stepsPerInterval: 5, optimizer: 'momentum' as const, aggregator: 'average' });

interface PlannedRun {
  mode: BenchRun['mode'];
  codec: string;
  /** Label in tables and the plot (codec plus what differs from the defaults). */
  label: string;
  localStepsPerExchange?: number;
  byteBudgetPerHour: number;
  run: () => Promise<SimulationResult>;
}

export async function runConvergenceBench(argv: string[]): Promise<number> {
  const fashionInstalled = existsSync(join(FASHION_MNIST_DEFAULT_DIR, 'train-images-idx3-ubyte.gz'));
  const { values } = parseScriptArgs(
    {
      name: NAME,
      usage: 'npm run bench:convergence -- [options]',
      summary: `Accuracy (full test split, every curve point) against samples processed and
bytes sent, for centralized, local, f32 gossip (classic: full float32 models
every 5 local steps) and compressed gossip (the daemon's defaults), in one
process, per seed. Target per seed: f32's final mean accuracy - 1 point.`,
      options: {
        nodes: { type: 'string', default: '8', arg: 'N', help: 'nodes' },
        data: { type: 'string', default: fashionInstalled ? 'fashion-mnist' : 'mnist', arg: 'SPEC', help: `${DATA_SPEC_HELP}; fashion-mnist when installed, else mnist` },
        ...DATA_SCHEMA_SCRIPT_OPTIONS,
        partition: { type: 'string', default: 'dirichlet:0.3', arg: 'SPEC', help: 'partition of the data over the nodes' },
        model: { type: 'string', default: 'mlp', arg: 'SPEC', help: `${MODEL_SPEC_CHOICES} (a tfjs LayersModel: its weights, if any, are every node's initial point)` },
        seeds: { type: 'string', default: '1', arg: 'LIST', help: 'comma list of seeds (partitions, models, shuffling); every mode runs on each' },
        'samples-per-node': { type: 'string', default: String(DEFAULT_SAMPLES_PER_NODE), arg: 'N', help: 'sample budget per node' },
        codec: { type: 'string', multiple: true, default: [], arg: 'SPEC', help: `extra compressed run; the default codec (${DEFAULT_CODEC_SPEC}) always runs` },
        modes: { type: 'string', default: 'centralized,local,f32,compressed', arg: 'LIST', help: 'comma list of centralized,local,f32,compressed' },
        'local-steps': { type: 'string', default: String(DEFAULT_PACING.localStepsPerExchange), arg: 'LIST', help: 'H: local steps between two exchanges a node starts (compressed runs; 0 = every interval); a comma list runs each, the first is the default run' },
        'gossip-optimizer': { type: 'string', default: DEFAULT_GOSSIP_TRAINING.optimizer, arg: 'NAME', help: `optimizer of the compressed runs (${OPTIMIZER_NAMES.join(' | ')}); the baselines and f32 train with momentum` },
        gamma: { type: 'string', default: String(DEFAULT_MERGE_OPTIONS.gamma), arg: 'X', help: 'consensus step for compressed runs, in (0, 1]' },
        aggregator: { type: 'string', default: DEFAULT_AGGREGATOR, arg: 'NAME', help: `merge rule of the compressed runs: ${AGGREGATOR_NAMES.join(' | ')} (f32 stays the plain average)` },
        partners: { type: 'string', default: String(DEFAULT_SIM_PARTNERS), arg: 'K', help: 'fixed gossip partners per node, 0 = anyone' },
        'snapshot-codec': { type: 'string', default: DEFAULT_SNAPSHOT_CODEC_SPEC, arg: 'SPEC', help: 'codec of the snapshots that start a pair (compressed runs)' },
        'byte-budgets': { type: 'string', default: '', arg: 'LIST', help: 'comma list of --byte-budget values (bytes per virtual hour, e.g. 20MB): one more compressed run of the default codec each' },
        'eval-points': { type: 'string', default: String(DEFAULT_EVAL_POINTS), arg: 'N', help: 'curve points (each on the full test split)' },
        'learning-rate': { type: 'string', default: String(DEFAULT_TRAINING.learningRate), arg: 'X', help: 'learning rate for every mode, in (0, 10)' },
        json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
        plot: { type: 'string', arg: 'FILE', output: true, help: 'write the accuracy-vs-bytes chart (SVG, log x) here; default: the --json file with .svg' },
        ...DP_BENCH_OPTIONS,
      },
    },
    argv,
  );
  const int = (name: string, raw: string, min: number): number => scriptNumber(raw, `--${name}`, NAME, { integer: true, min });
  const nodes = int('nodes', values.nodes, 2);
  const seeds = values.seeds.split(',').map((s) => int('seeds', s.trim(), 0));
  if (new Set(seeds).size !== seeds.length) exitScriptUsage(`${NAME}: --seeds lists a seed twice`);
  const samplesPerNode = int('samples-per-node', values['samples-per-node'], 32);
  const localStepsList = values['local-steps'].split(',').map((h) => int('local-steps', h.trim(), 0));
  const localSteps = localStepsList[0]!;
  const partners = int('partners', values.partners, 0);
  const evalPoints = int('eval-points', values['eval-points'], 1);
  const learningRate = scriptNumber(values['learning-rate'], '--learning-rate', NAME, { positive: true });
  if (!(learningRate < 10)) exitScriptUsage(`${NAME}: --learning-rate must be in (0, 10) (got '${values['learning-rate']}')`);
  const gossipOptimizer = values['gossip-optimizer'];
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(gossipOptimizer)) exitScriptUsage(`${NAME}: --gossip-optimizer must be one of ${OPTIMIZER_NAMES.join(' | ')} (got '${gossipOptimizer}')`);
  const baselineTraining: TrainingSetup = { ...DEFAULT_TRAINING, optimizer: CLASSIC_F32.optimizer, learningRate };
  const gossipTraining: TrainingSetup = { ...DEFAULT_GOSSIP_TRAINING, optimizer: gossipOptimizer as OptimizerName, learningRate };
  const gamma = scriptNumber(values.gamma, '--gamma', NAME, { positive: true });
  if (!(gamma <= 1)) exitScriptUsage(`${NAME}: --gamma must be in (0, 1] (got '${values.gamma}')`);
  try {
    checkAggregatorName(values.aggregator);
  } catch (err) {
    exitScriptUsage(`${NAME}: --aggregator: ${(err as Error).message}`);
  }
  const modelProblem = modelSpecProblem(values.model);
  if (modelProblem !== null) exitScriptUsage(`${NAME}: --model: ${modelProblem}`);
  const dataOptions = benchDataOptions(NAME, values);
  const model = values.model;
  try {
    parsePartitionSpec(values.partition);
  } catch (err) {
    exitScriptUsage(`${NAME}: --partition: ${(err as Error).message}`);
  }
  const modes = values.modes.split(',').map((m) => m.trim());
  for (const m of modes) if (!['centralized', 'local', 'f32', 'compressed'].includes(m)) exitScriptUsage(`${NAME}: unknown mode '${m}' in --modes`);
  const codecs = [DEFAULT_CODEC_SPEC, ...values.codec.filter((c) => c !== DEFAULT_CODEC_SPEC)];
  for (const c of [...codecs, values['snapshot-codec']]) if (!isCodecSpec(c)) exitScriptUsage(`${NAME}: not a codec spec: '${c}'`);
  const budgets: number[] = [];
  for (const b of values['byte-budgets'].split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    try {
      const bytes = parseByteSize(b);
      if (bytes === 0) throw new Error('0 is the unlimited default, which always runs');
      budgets.push(bytes);
    } catch (err) {
      exitScriptUsage(`${NAME}: --byte-budgets: ${(err as Error).message}`);
    }
  }
  const plotFile = values.plot ?? (values.json === undefined ? undefined : values.json.replace(/\.json$/i, '') + '.svg');

  const dataSpec = values.data;
  const backend = await initBackend('auto');
  const data = await benchDataset(NAME, dataSpec, dataOptions, model);
  const identity = await benchModel(NAME, model, data, seeds[0]!);
  const dataNote = dataSpec === 'fashion-mnist' && fashionInstalled ? ' (installed Debian package)' : dataSpec === 'mnist' && !fashionInstalled ? ' (Fashion-MNIST not installed: embedded MNIST instead)' : '';
  const simPacing = { ...DEFAULT_PACING, stepsPerInterval: CLASSIC_F32.stepsPerInterval };
  console.log(`convergence: data ${data.name}${dataNote}, ${data.train.count} train / ${data.test.count} test rows; ${nodes} nodes, ${values.partition}, seeds ${seeds.join(',')}, backend ${backend}`);
  console.log(modelLine(model, identity));
  console.log(`budget ${samplesPerNode} samples per node, lr ${learningRate} batch ${baselineTraining.batchSize}; nodes train ${simPacing.stepsPerInterval} steps per ${simPacing.intervalMs} ms (virtual), duty cycle ${simPacing.dutyCycle}; partners ${partners || 'any'}`);
  console.log(`f32: classic gossip (momentum, a full f32 model every interval, plain average, gamma 1). compressed: ${gossipTraining.optimizer}, aggregator ${values.aggregator}, H = ${localStepsList.join(', ')} local steps per exchange, snapshots ${values['snapshot-codec']}, gamma ${gamma}, round-to-nearest`);
  console.log('every curve point on the full test split');

  const gossipWith = (codec: string, snapshotCodec: string, mergeGamma: number, localStepsPerExchange: number, byteBudgetPerHour: number, aggregator: string = values.aggregator): GossipSetup => ({
    codec,
    snapshotCodec,
    aggregator,
    mergeOptions: { gamma: mergeGamma },
    rounding: 'nearest',
    localStepsPerExchange,
    byteBudgetPerHour,
  });
  /** Writes the JSON and the chart; also after every run (complete: false), so a run stopped early leaves its figures. */
  const writeOutputs = async (runsSoFar: BenchRun[], plotSoFar: PlotRun[], checksSoFar: Check[], complete: boolean): Promise<void> => {
    if (values.json) {
      const out = {
        complete,
        data: data.name,
        nodes,
        partition: values.partition,
        model,
        modelName: identity.name,
        modelHash: identity.hash,
        paramCount: identity.paramCount,
        seeds,
        samplesPerNode,
        backend,
        training: { baselines: baselineTraining, compressed: gossipTraining },
        pacing: {
          intervalMs: simPacing.intervalMs,
          trainingStepsPerInterval: simPacing.stepsPerInterval,
          dutyCycle: simPacing.dutyCycle,
          jitterFraction: simPacing.jitterFraction,
          localStepsPerExchange: localStepsList,
          f32: CLASSIC_F32,
          partners,
          gamma,
          aggregator: values.aggregator,
          snapshotCodec: values['snapshot-codec'],
        },
        defaultCodec: DEFAULT_CODEC_SPEC,
        checks: checksSoFar,
        runs: runsSoFar,
        ...(dpRuns.length > 0 ? { dpRuns } : {}),
      };
      await writeFile(values.json, `${JSON.stringify(out, null, 2)}\n`);
      if (complete) console.log(`wrote ${values.json}`);
    }
    if (plotFile !== undefined) {
      await writeFile(plotFile, await convergencePlotSvg(plotSoFar));
      if (complete) console.log(`wrote ${plotFile}`);
    }
  };
  const runs: BenchRun[] = [];
  const dpRuns: Array<DpBenchRun & { seed: number }> = [];
  const plotRuns: PlotRun[] = [];
  const tables: string[] = [];
  const checks: Check[] = [];
  for (const seed of seeds) {
    const plan: PlannedRun[] = [];
    // Round-to-nearest quantization: the replica's error feedback removes its bias, and it measured slightly better than stochastic rounding (0.813 vs 0.809 mean accuracy, topk:0.05+q4+deflate).
    const common = { data, partition: values.partition, numNodes: nodes, model, seed, samplesPerNode, evalPoints, evalRows: 0, pacing: simPacing, partners };
    const progress = (label: string) => (p: CurvePoint) => console.log(`  seed ${seed} ${label}: ${p.samples} samples, mean ${pct(p.meanAccuracy)}, worst ${pct(p.worstAccuracy)}, ${fmtBytes(p.bytesPerNode)}/node`);
    const baseline = { ...common, training: baselineTraining };
    if (modes.includes('centralized')) plan.push({ mode: 'centralized', codec: '', label: 'centralized', byteBudgetPerHour: 0, run: () => simulate({ ...baseline, mode: 'centralized', onPoint: progress('centralized') }) });
    if (modes.includes('local')) plan.push({ mode: 'local', codec: '', label: 'local', byteBudgetPerHour: 0, run: () => simulate({ ...baseline, mode: 'local', onPoint: progress('local') }) });
    if (modes.includes('f32')) {
      const setup = gossipWith(CLASSIC_F32.codec, CLASSIC_F32.snapshotCodec, CLASSIC_F32.gamma, CLASSIC_F32.localStepsPerExchange, 0, CLASSIC_F32.aggregator);
      plan.push({ mode: 'f32', codec: 'f32', label: 'f32', byteBudgetPerHour: 0, run: () => simulate({ ...baseline, mode: 'gossip', gossip: setup, onPoint: progress('f32') }) });
    }
    if (modes.includes('compressed')) {
      const compressed = (codec: string, budget: number, h: number): PlannedRun => {
        const label = `${codec}${localStepsList.length > 1 ? ` H=${h}` : ''}${budget > 0 ? ` budget ${fmtBytes(budget)}/h` : ''}`;
        const setup = gossipWith(codec, values['snapshot-codec'], gamma, h, budget);
        return { mode: 'compressed', codec, label, localStepsPerExchange: h, byteBudgetPerHour: budget, run: () => simulate({ ...common, training: gossipTraining, mode: 'gossip', gossip: setup, onPoint: progress(label) }) };
      };
      for (const h of localStepsList) for (const codec of codecs) plan.push(compressed(codec, 0, h));
      for (const budget of budgets) plan.push(compressed(DEFAULT_CODEC_SPEC, budget, localSteps));
    }

    const seedRuns: Array<BenchRun & { label: string; byteBudgetPerHour: number }> = [];
    const withTargets = (): void => {
      const f32Run = seedRuns.find((r) => r.mode === 'f32');
      if (f32Run === undefined) return;
      for (const r of seedRuns) if (r.mode === 'f32' || r.mode === 'compressed') r.bytesToTarget = bytesToReach(r.curve, f32Run.meanAccuracy - 0.01);
    };
    const asOutput = (r: (typeof seedRuns)[number]): BenchRun => {
      const { byteBudgetPerHour, ...run } = r;
      return byteBudgetPerHour > 0 ? { ...run, byteBudgetPerHour } : run;
    };
    const asPlot = (r: (typeof seedRuns)[number]): PlotRun => ({ label: r.label, seed, meanAccuracy: r.meanAccuracy, sends: r.mode === 'f32' || r.mode === 'compressed', curve: r.curve });
    for (const item of plan) {
      console.log(`run seed ${seed} ${item.label}`);
      const r = await item.run();
      const last = r.curve.at(-1)!;
      seedRuns.push({
        mode: item.mode,
        seed,
        codec: item.codec,
        label: item.label,
        ...(item.localStepsPerExchange === undefined ? {} : { localStepsPerExchange: item.localStepsPerExchange }),
        byteBudgetPerHour: item.byteBudgetPerHour,
        meanAccuracy: last.meanAccuracy,
        worstAccuracy: last.worstAccuracy,
        bytesToTarget: null,
        bytesPerNode: r.bytesPerNode,
        payloadBytesPerNode: r.payloadBytesPerNode,
        metaBytesPerNode: r.metaBytesPerNode,
        exchanges: r.exchanges,
        snapshots: r.snapshots,
        rejectedMerges: r.rejectedMerges,
        virtualMs: r.virtualMs,
        seconds: r.seconds,
        curve: r.curve,
      });
      withTargets();
      await writeOutputs([...runs, ...seedRuns.map(asOutput)], [...plotRuns, ...seedRuns.map(asPlot)], checks, false);
    }
    const f32 = seedRuns.find((r) => r.mode === 'f32');
    const target = f32 ? f32.meanAccuracy - 0.01 : null;
    const f32Bytes = f32?.bytesToTarget ?? null;
    const rows = [['seed', 'mode', 'run', 'mean acc', 'worst acc', 'bytes/node', 'exchanges', `bytes to ${target === null ? '-' : pct(target)}`, 'x fewer than f32', 'seconds']];
    for (const r of seedRuns) {
      const ratio = r.bytesToTarget !== null && f32Bytes !== null && r.bytesToTarget > 0 ? (f32Bytes / r.bytesToTarget).toFixed(1) : '-';
      rows.push([String(seed), r.mode, r.label, pct(r.meanAccuracy), pct(r.worstAccuracy), fmtBytes(r.bytesPerNode), String(r.exchanges), r.mode === 'f32' || r.mode === 'compressed' ? fmtBytes(r.bytesToTarget) : '-', ratio, r.seconds.toFixed(0)]);
    }
    tables.push(table(rows));
    console.log('');
    console.log(tables.at(-1));
    console.log('');
    const compressedDefault = seedRuns.find((r) => r.mode === 'compressed' && r.codec === DEFAULT_CODEC_SPEC && r.byteBudgetPerHour === 0 && r.localStepsPerExchange === localSteps);
    const central = seedRuns.find((r) => r.mode === 'centralized');
    checks.push(...targetChecks(seed, f32, compressedDefault, central));
    runs.push(...seedRuns.map(asOutput));
    plotRuns.push(...seedRuns.map(asPlot));
    // --dp EPSILONS: compressed gossip (the defaults) with differential privacy, same setup; reported apart from runs[] (src/bench/dp-bench.ts).
    const dpSetup = gossipWith(DEFAULT_CODEC_SPEC, values['snapshot-codec'], gamma, localSteps, 0);
    const seedDp = await runDpBench(values, { samplesPerNode, batchSize: gossipTraining.batchSize, localSteps: Math.max(1, localSteps) }, (label, dp) =>
      simulate({ ...common, training: gossipTraining, mode: 'gossip', gossip: { ...dpSetup, dp }, onPoint: progress(label) }),
    compressedDefault ?? null);
    dpRuns.push(...seedDp.map((r) => ({ seed, ...r })));
  }
  if (seeds.length > 1) {
    console.log('all seeds:');
    for (const t of tables) console.log(`${t}\n`);
  }
  for (const c of checks) console.log(`${c.pass ? 'PASS' : 'FAIL'}  seed ${c.seed}: ${c.name}: ${c.detail}`);

  await writeOutputs(runs, plotRuns, checks, true);
  return 0;
}

interface Check {
  seed: number;
  name: string;
  pass: boolean;
  detail: string;
}

/** The issue's targets for one seed (the default compressed run against f32 and centralized). */
export function targetChecks(seed: number, f32: BenchRun | undefined, compressed: BenchRun | undefined, central: BenchRun | undefined): Check[] {
  const checks: Check[] = [];
  const points = (x: number): string => `${(100 * x).toFixed(2)} points`;
  if (f32 && compressed) {
    const ratio = compressed.bytesToTarget !== null && f32.bytesToTarget !== null ? f32.bytesToTarget / compressed.bytesToTarget : null;
    const detail = ratio === null ? 'never reached' : `${ratio.toFixed(1)}x`;
    checks.push({ seed, name: '>= 100x fewer bytes than f32 to reach f32 final - 1 point', pass: ratio !== null && ratio >= 100, detail });
    checks.push({ seed, name: 'stretch: >= 300x', pass: ratio !== null && ratio >= 300, detail });
    checks.push({ seed, name: 'final mean within 1 point of f32', pass: f32.meanAccuracy - compressed.meanAccuracy <= 0.01, detail: `gap ${points(f32.meanAccuracy - compressed.meanAccuracy)}` });
  }
  if (central && compressed) {
    checks.push({ seed, name: 'final mean within 2 points of centralized', pass: central.meanAccuracy - compressed.meanAccuracy <= 0.02, detail: `gap ${points(central.meanAccuracy - compressed.meanAccuracy)}` });
    checks.push({ seed, name: 'worst node within 4 points of centralized', pass: central.meanAccuracy - compressed.worstAccuracy <= 0.04, detail: `gap ${points(central.meanAccuracy - compressed.worstAccuracy)}` });
  }
  return checks;
}
