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
 */
import { DEFAULT_CODEC_SPEC } from '../protocol/codec/index.ts';
import { exitScriptUsage, scriptNumberProblem } from '../cli/script-args.ts';
import { DEFAULT_DP_DELTA, type DpSettings } from '../core/dp-release.ts';
import { noiseMultiplierFor } from '../core/rdp-accountant.ts';
import type { SimulationResult } from '../sim/simulate.ts';

const NAME = 'bench:convergence';
/** Planned releases = 2 x exchange intervals x this: room for jitter, so that few nodes run out before the end. */
export const DP_RELEASE_MARGIN = 1.25;
/** Default clip C (L2 norm of one release; the parameters of mlp are of order 0.05). */
export const DEFAULT_BENCH_DP_CLIP = 0.01;

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

export interface DpRunPlan {
  mode: 'compressed';
  codec: string;
  dp: Pick<DpBenchFigures, 'targetEpsilon' | 'clip' | 'noiseMultiplier' | 'delta' | 'plannedReleases'>;
  run: () => Promise<SimulationResult>;
}

/** The DP runs `--dp` asks for; `run(label, settings)` builds one simulation. Exits with a usage line for bad values. */
export function planDpRuns(
  values: { dp: string; 'dp-clip': string; 'dp-delta': string },
  budget: { samplesPerNode: number; batchSize: number; localSteps: number },
  run: (label: string, dp: DpSettings) => () => Promise<SimulationResult>,
): DpRunPlan[] {
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
    const settings: DpSettings = { clip, noiseMultiplier, delta, epsilonBudget: targetEpsilon };
    return { mode: 'compressed', codec: DEFAULT_CODEC_SPEC, dp: { targetEpsilon, clip, noiseMultiplier, delta, plannedReleases }, run: run(`dp epsilon ${targetEpsilon}`, settings) };
  });
}

export function describeDpPlan(plan: readonly DpRunPlan[]): string {
  return plan
    .map((p) => `dp run: target epsilon ${p.dp.targetEpsilon} (delta ${p.dp.delta}): clip ${p.dp.clip}, noise multiplier ${p.dp.noiseMultiplier.toFixed(3)} for ${p.dp.plannedReleases} planned releases per node`)
    .join('\n');
}

/** `{ dp }` for a DP run's BenchRun, `{}` for the others. */
export function dpFigures(item: { dp?: DpRunPlan['dp'] }, result: SimulationResult): { dp?: DpBenchFigures } {
  if (item.dp === undefined || result.privacy === null) return {};
  return { dp: { ...item.dp, maxEpsilon: result.privacy.maxEpsilon, maxReleases: result.privacy.maxReleases, exhaustedNodes: result.privacy.exhaustedNodes } };
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** The side-by-side table: compressed gossip without DP, then each DP run. */
export function dpTable(runs: ReadonlyArray<{ meanAccuracy: number; worstAccuracy: number; dp?: DpBenchFigures }>, baseline: { meanAccuracy: number; worstAccuracy: number } | null): string {
  const rows = [['privacy', 'epsilon spent (max)', 'noise multiplier', 'releases (max)', 'nodes out of budget', 'mean acc', 'worst acc', 'vs no DP']];
  if (baseline !== null) rows.push(['no DP', '-', '-', '-', '-', pct(baseline.meanAccuracy), pct(baseline.worstAccuracy), '-']);
  for (const r of runs) {
    if (r.dp === undefined) continue;
    const gap = baseline === null ? '-' : `${(100 * (r.meanAccuracy - baseline.meanAccuracy)).toFixed(2)} points`;
    rows.push([`epsilon <= ${r.dp.targetEpsilon}`, r.dp.maxEpsilon.toFixed(2), r.dp.noiseMultiplier.toFixed(2), String(r.dp.maxReleases), String(r.dp.exhaustedNodes), pct(r.meanAccuracy), pct(r.worstAccuracy), gap]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n');
}
