/**
 * The differential-privacy mode of bench:convergence (`--dp 1,4,8`): one
 * compressed-gossip run per target epsilon on the same data, seed and
 * budget as the other runs, every node clipping its releases to
 * `--dp-clip` and adding Gaussian noise (src/core/dp-release.ts).
 *
 * How a target epsilon becomes settings: a node releases once per exchange
 * it takes part in, as initiator or responder. The plan estimates the
 * releases of the busiest node as 2 x its exchange intervals (samples per
 * node / batch / local steps) x DP_RELEASE_MARGIN, and takes the noise
 * multiplier with which that many releases reach the target
 * (noiseMultiplierFor, src/core/rdp-accountant.ts). The target is also each
 * node's `epsilonBudget`, so no node ever passes it: a node that releases
 * more than planned stops sharing (the run reports how many did).
 *
 * The runs are printed as their own table beside compressed gossip without
 * DP and written to the JSON as `dpRuns[]`, apart from `runs[]`, whose
 * modes and checks stay those of the communication benchmark.
 */
import { DEFAULT_CODEC_SPEC } from '../protocol/codec/index.ts';
import { exitScriptUsage, scriptNumberProblem } from '../cli/script-args.ts';
import { DEFAULT_DP_DELTA, type DpSettings } from '../core/dp-release.ts';
import { noiseMultiplierFor } from '../core/rdp-accountant.ts';
import type { SimulationResult } from '../sim/simulate.ts';

const NAME = 'bench:convergence';
/** Planned releases = 2 x exchange intervals x this: room for jitter, so that few nodes run out before the end. */
export const DP_RELEASE_MARGIN = 1.25;
/** Default clip C (L2 norm of one release). 0.001 measured a little better than 0.01 at epsilon 8 on a short run (26% against 18%): less noise in absolute terms matters more than a faster-moving release. */
export const DEFAULT_BENCH_DP_CLIP = 0.001;

export const DP_BENCH_OPTIONS = {
  dp: { type: 'string', default: '', arg: 'EPSILONS', help: 'also run compressed gossip with differential privacy at each target epsilon, e.g. 1,4,8' },
  'dp-clip': { type: 'string', default: String(DEFAULT_BENCH_DP_CLIP), arg: 'C', help: 'DP runs: L2 clip of every release' },
  'dp-delta': { type: 'string', default: String(DEFAULT_DP_DELTA), arg: 'D', help: 'DP runs: delta' },
} as const;

/** What a DP run reports in the JSON and the table. */
export interface DpBenchFigures {
  targetEpsilon: number;
  clip: number;
  noiseMultiplier: number;
  delta: number;
  plannedReleases: number;
  /** Largest epsilon any node spent, and its release count. */
  maxEpsilon: number;
  maxReleases: number;
  /** Nodes that stopped sharing because the next release would pass the target. */
  exhaustedNodes: number;
}

interface DpRunPlan {
  figures: Pick<DpBenchFigures, 'targetEpsilon' | 'clip' | 'noiseMultiplier' | 'delta' | 'plannedReleases'>;
  settings: DpSettings;
}

/** One DP run in the JSON (`dpRuns[]`): the settings, what the nodes spent, and the usual figures. */
export interface DpBenchRun extends DpBenchFigures {
  codec: string;
  meanAccuracy: number;
  worstAccuracy: number;
  bytesPerNode: number;
  exchanges: number;
  rejectedMerges: number;
  seconds: number;
  curve: SimulationResult['curve'];
}

/** The DP runs `--dp` asks for (none when it is empty). Exits with a usage line for bad values. */
export function planDpRuns(values: { dp: string; 'dp-clip': string; 'dp-delta': string }, budget: { samplesPerNode: number; batchSize: number; localSteps: number }): DpRunPlan[] {
  if (values.dp.trim() === '') return [];
  const number = (raw: string, flag: string): number => {
    const problem = scriptNumberProblem(raw, { positive: true });
    if (problem !== null) exitScriptUsage(`${NAME}: ${flag} must be ${problem} (got '${raw}')`);
    return Number(raw);
  };
  const epsilons = values.dp.split(',').map((e) => number(e.trim(), '--dp'));
  const clip = number(values['dp-clip'], '--dp-clip');
  const delta = number(values['dp-delta'], '--dp-delta');
  if (!(delta < 1)) exitScriptUsage(`${NAME}: --dp-delta must be in (0, 1) (got '${values['dp-delta']}')`);
  const intervals = Math.ceil(budget.samplesPerNode / (budget.batchSize * budget.localSteps));
  const plannedReleases = Math.ceil(2 * intervals * DP_RELEASE_MARGIN);
  return epsilons.map((targetEpsilon) => {
    const noiseMultiplier = noiseMultiplierFor({ epsilon: targetEpsilon, delta, releases: plannedReleases });
    return { figures: { targetEpsilon, clip, noiseMultiplier, delta, plannedReleases }, settings: { clip, noiseMultiplier, delta, epsilonBudget: targetEpsilon } };
  });
}

/**
 * Runs the DP runs `--dp` asks for with `simulateWith` (the same setup as
 * the compressed run, plus the settings), prints the plan, progress and the
 * side-by-side table against `baseline` (compressed gossip without DP, when
 * it ran); returns the runs for the JSON (empty without --dp).
 */
export async function runDpBench(
  values: { dp: string; 'dp-clip': string; 'dp-delta': string },
  budget: { samplesPerNode: number; batchSize: number; localSteps: number },
  simulateWith: (label: string, dp: DpSettings) => Promise<SimulationResult>,
  baseline: { meanAccuracy: number; worstAccuracy: number } | null,
): Promise<DpBenchRun[]> {
  const plan = planDpRuns(values, budget);
  const runs: DpBenchRun[] = [];
  for (const { figures, settings } of plan) {
    console.log(`run compressed ${DEFAULT_CODEC_SPEC} with differential privacy: target epsilon ${figures.targetEpsilon} (delta ${figures.delta}), clip ${figures.clip}, noise multiplier ${figures.noiseMultiplier.toFixed(3)} for ${figures.plannedReleases} planned releases per node`);
    const r = await simulateWith(`dp epsilon ${figures.targetEpsilon}`, settings);
    const last = r.curve.at(-1)!;
    const spent = r.privacy ?? { maxEpsilon: 0, maxReleases: 0, exhaustedNodes: 0 };
    runs.push({ ...figures, ...spent, codec: DEFAULT_CODEC_SPEC, meanAccuracy: last.meanAccuracy, worstAccuracy: last.worstAccuracy, bytesPerNode: r.bytesPerNode, exchanges: r.exchanges, rejectedMerges: r.rejectedMerges, seconds: r.seconds, curve: r.curve });
  }
  if (runs.length > 0) console.log(`\n${dpTable(runs, baseline)}`);
  return runs;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** The side-by-side table: compressed gossip without DP, then each DP run. */
export function dpTable(runs: readonly DpBenchRun[], baseline: { meanAccuracy: number; worstAccuracy: number } | null): string {
  const rows = [['privacy', 'epsilon spent (max)', 'noise multiplier', 'releases (max)', 'nodes out of budget', 'mean acc', 'worst acc', 'vs no DP']];
  if (baseline !== null) rows.push(['no DP', '-', '-', '-', '-', pct(baseline.meanAccuracy), pct(baseline.worstAccuracy), '-']);
  for (const r of runs) {
    const gap = baseline === null ? '-' : `${(100 * (r.meanAccuracy - baseline.meanAccuracy)).toFixed(2)} points`;
    rows.push([`epsilon <= ${r.targetEpsilon}`, r.maxEpsilon.toFixed(2), r.noiseMultiplier.toFixed(2), String(r.maxReleases), String(r.exhaustedNodes), pct(r.meanAccuracy), pct(r.worstAccuracy), gap]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n');
}
