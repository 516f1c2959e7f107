/**
 * The poisoning benchmark (issue 16): how much accuracy the honest nodes keep
 * when some peers are malicious, with the plain average and with the default
 * aggregator. 8 nodes on Fashion-MNIST dirichlet:0.3 (mlp, or --model), 2 of them
 * malicious, in the simulator (src/sim/simulate.ts) with the real sessions,
 * codecs and aggregators; the attacks are crafted by the simulator's driver
 * (src/sim/adversary.ts), never by the daemon. Every attack runs with each
 * aggregator, plus a run without attack.
 *
 *   npm run bench:poison -- --json poison.json
 *
 * Budget: 8,000 samples per node by default (about one pass over a node's
 * shard), so each run takes 15-45 s and the 16 default runs about 10
 * minutes on the shared 2-core reference machine (measured); `--samples-per-node` buys
 * accuracy with time. Every node may call every other one (`--partners 0`):
 * with 3 fixed partners an honest node could have 2 malicious neighbours of
 * 3, and no rule survives a byzantine majority around a node.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closestName } from '../common/arg-errors.ts';
import { DATA_SCHEMA_SCRIPT_OPTIONS } from '../cli/data-flags.ts';
import { exitScriptUsage, parseScriptArgs, scriptNumber } from '../cli/script-args.ts';
import { DEFAULT_PACING } from '../core/pacing.ts';
import { DEFAULT_CODEC_SPEC } from '../protocol/codec/index.ts';
import { aLittleIsEnoughZ, ATTACK_NAMES, isAttackName, type AttackName } from '../sim/adversary.ts';
import { simulate } from '../sim/simulate.ts';
import type { TrainingSetup } from '../sim/simulate.ts';
import { AGGREGATOR_NAMES, DEFAULT_AGGREGATOR, isAggregatorName } from '../train/aggregators/index.ts';
import { initBackend } from '../train/backend.ts';
import { DATA_SPEC_HELP, FASHION_MNIST_DEFAULT_DIR } from '../train/dataset.ts';
import { MODEL_SPEC_CHOICES, modelSpecProblem } from '../train/model-spec.ts';
import { DEFAULT_GOSSIP_TRAINING } from '../train/training-defaults.ts';
import { benchDataOptions, benchDataset } from './bench-data.ts';
import { benchModel, modelLine } from './bench-model.ts';

export const DEFAULT_POISON_SAMPLES_PER_NODE = 8_000;
const NAME = 'bench:poison';

/** One row of the JSON: the contract fields first, then extras. */
export interface PoisonRun {
  attack: AttackName;
  aggregator: string;
  honestMeanAccuracy: number;
  honestWorstAccuracy: number;
  /** Merges the aggregators refused, all nodes together (frames refused at decoding, as nan-inf's, are not merges and not counted). */
  rejectedMerges: number;
  exchanges: number;
  seconds: number;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** Parses a comma list against known names, exiting with a did-you-mean line for an unknown one. */
function nameList<T extends string>(raw: string, flag: string, known: readonly T[], isKnown: (s: string) => s is T): T[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) {
    if (!isKnown(n)) {
      const close = closestName(n, known);
      exitScriptUsage(`${NAME}: unknown ${flag} value '${n}'${close === null ? '' : ` (did you mean ${close}?)`}; known: ${known.join(', ')}`);
    }
  }
  return names as T[];
}

export async function runPoisonBench(argv: string[]): Promise<number> {
  const fashionInstalled = existsSync(join(FASHION_MNIST_DEFAULT_DIR, 'train-images-idx3-ubyte.gz'));
  const { values } = parseScriptArgs(
    {
      name: NAME,
      usage: 'npm run bench:poison -- [options]',
      summary: `Honest nodes' accuracy under attack by malicious peers, with the plain
average and with the default aggregator (${DEFAULT_AGGREGATOR}), in the simulator.`,
      options: {
        nodes: { type: 'string', default: '8', arg: 'N', help: 'nodes in all' },
        malicious: { type: 'string', default: '2', arg: 'M', help: 'malicious nodes among them (the last M)' },
        data: { type: 'string', default: fashionInstalled ? 'fashion-mnist' : 'mnist', arg: 'SPEC', help: `${DATA_SPEC_HELP}; fashion-mnist when installed, else mnist` },
        ...DATA_SCHEMA_SCRIPT_OPTIONS,
        partition: { type: 'string', default: 'dirichlet:0.3', arg: 'SPEC', help: 'partition of the data over the nodes' },
        model: { type: 'string', default: 'mlp', arg: 'SPEC', help: `${MODEL_SPEC_CHOICES} (a tfjs LayersModel: its weights, if any, are every node's initial point)` },
        seed: { type: 'string', default: '1', arg: 'N', help: 'seed of partitions, models, shuffling and attacks' },
        'samples-per-node': { type: 'string', default: String(DEFAULT_POISON_SAMPLES_PER_NODE), arg: 'N', help: 'sample budget per node' },
        attacks: { type: 'string', default: ATTACK_NAMES.join(','), arg: 'LIST', help: `comma list of ${ATTACK_NAMES.join(', ')}` },
        aggregators: { type: 'string', default: [...new Set(['average', DEFAULT_AGGREGATOR])].join(','), arg: 'LIST', help: `comma list of ${AGGREGATOR_NAMES.join(', ')}` },
        partners: { type: 'string', default: '0', arg: 'K', help: 'fixed gossip partners per node, 0 = anyone' },
        json: { type: 'string', arg: 'FILE', output: true, help: 'write the figures as JSON here' },
      },
    },
    argv,
  );
  const int = (name: string, raw: string, min: number): number => scriptNumber(raw, `--${name}`, NAME, { integer: true, min });
  const nodes = int('nodes', values.nodes, 3);
  const malicious = int('malicious', values.malicious, 0);
  if (malicious >= nodes) exitScriptUsage(`${NAME}: --malicious must be below --nodes (got ${malicious} of ${nodes})`);
  const seed = int('seed', values.seed, 0);
  const samplesPerNode = int('samples-per-node', values['samples-per-node'], 32);
  const partners = int('partners', values.partners, 0);
  const attacks = nameList(values.attacks, '--attacks', ATTACK_NAMES, isAttackName);
  const aggregators = nameList(values.aggregators, '--aggregators', AGGREGATOR_NAMES, isAggregatorName);
  const maliciousNodes = Array.from({ length: malicious }, (_, k) => nodes - malicious + k);
  const honest = Array.from({ length: nodes }, (_, i) => i).filter((i) => !maliciousNodes.includes(i));
  const modelProblem = modelSpecProblem(values.model);
  if (modelProblem !== null) exitScriptUsage(`${NAME}: --model: ${modelProblem}`);
  const dataOptions = benchDataOptions(NAME, values);

  const backend = await initBackend('auto');
  const data = await benchDataset(NAME, values.data, dataOptions, values.model);
  const model = await benchModel(NAME, values.model, data, seed);
  // What a daemon runs: the gossip training default (src/train/training-defaults.ts) and H local steps per exchange.
  const training: TrainingSetup = { ...DEFAULT_GOSSIP_TRAINING };
  console.log(`poison: data ${data.name}, ${nodes} nodes (${malicious} malicious: ${maliciousNodes.join(', ')}), ${values.partition}, seed ${seed}, backend ${backend}`);
  console.log(modelLine(values.model, model));
  console.log(`budget ${samplesPerNode} samples per node, ${training.optimizer} lr ${training.learningRate}, codec ${DEFAULT_CODEC_SPEC}, H = ${DEFAULT_PACING.localStepsPerExchange} local steps per exchange, partners ${partners || 'any'}; a-little-is-enough z = ${aLittleIsEnoughZ(nodes, malicious).toFixed(3)}`);

  const runs: PoisonRun[] = [];
  for (const aggregator of aggregators) {
    for (const attack of attacks) {
      const r = await simulate({
        data,
        partition: values.partition,
        numNodes: nodes,
        model: values.model,
        seed,
        mode: 'gossip',
        samplesPerNode,
        training,
        gossip: { codec: DEFAULT_CODEC_SPEC, aggregator, rounding: 'nearest', localStepsPerExchange: DEFAULT_PACING.localStepsPerExchange },
        pacing: DEFAULT_PACING,
        partners,
        evalPoints: 1,
        evalRows: 0,
        adversary: { attack, nodes: attack === 'none' ? [] : maliciousNodes },
      });
      const accuracies = honest.map((i) => r.finalAccuracies[i]!);
      const run: PoisonRun = {
        attack,
        aggregator,
        honestMeanAccuracy: accuracies.reduce((a, b) => a + b, 0) / accuracies.length,
        honestWorstAccuracy: Math.min(...accuracies),
        rejectedMerges: r.rejectedMerges,
        exchanges: r.exchanges,
        seconds: r.seconds,
      };
      runs.push(run);
      console.log(`  ${aggregator.padEnd(13)} ${attack.padEnd(19)} honest mean ${pct(run.honestMeanAccuracy)}, worst ${pct(run.honestWorstAccuracy)}, ${run.rejectedMerges} rejected, ${run.seconds.toFixed(0)} s`);
    }
  }

  const rows = [['attack', ...aggregators.map((a) => `${a} mean / worst`)]];
  for (const attack of attacks) {
    rows.push([attack, ...aggregators.map((a) => {
      const run = runs.find((r) => r.attack === attack && r.aggregator === a)!;
      return `${pct(run.honestMeanAccuracy)} / ${pct(run.honestWorstAccuracy)}`;
    })]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log('');
  console.log(rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n'));
  console.log('');

  const checks: Array<{ name: string; pass: boolean; detail: string }> = [];
  const find = (attack: AttackName, aggregator: string) => runs.find((r) => r.attack === attack && r.aggregator === aggregator);
  const calm = find('none', DEFAULT_AGGREGATOR);
  const calmAverage = find('none', 'average');
  if (calm && calmAverage && DEFAULT_AGGREGATOR !== 'average') {
    const cost = calmAverage.honestMeanAccuracy - calm.honestMeanAccuracy;
    checks.push({ name: `${DEFAULT_AGGREGATOR} costs at most 0.5 point without attack`, pass: cost <= 0.005, detail: `${(100 * cost).toFixed(2)} points below average` });
  }
  if (calm) {
    for (const attack of attacks.filter((a) => a !== 'none')) {
      const run = find(attack, DEFAULT_AGGREGATOR);
      if (!run) continue;
      const drop = calm.honestMeanAccuracy - run.honestMeanAccuracy;
      checks.push({ name: `${DEFAULT_AGGREGATOR} under ${attack} within 1 point of no attack`, pass: drop <= 0.01, detail: `${(100 * drop).toFixed(2)} points lower` });
    }
  }
  for (const c of checks) console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);

  if (values.json) {
    const out = { defaultAggregator: DEFAULT_AGGREGATOR, runs, data: data.name, nodes, maliciousNodes, partition: values.partition, model: values.model, modelName: model.name, modelHash: model.hash, paramCount: model.paramCount, seed, samplesPerNode, partners, codec: DEFAULT_CODEC_SPEC, backend, training, checks };
    await writeFile(values.json, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote ${values.json}`);
  }
  return 0;
}
