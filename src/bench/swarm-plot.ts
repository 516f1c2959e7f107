/**
 * The accuracy-over-time chart of `gossip-learn simulate` and bench:scale:
 * mean, worst and the 10th / 50th / 90th percentile of the evaluated nodes'
 * test accuracy against simulated minutes, one colour per statistic (and a
 * line style per run when several are drawn). Rendered headless to SVG with
 * the cluster report's vega-lite renderer (src/cluster/report.ts), like the
 * convergence chart (convergence-plot.ts).
 *
 *   await writeFile('swarm.svg', await swarmPlotSvg([{ label: '1000 nodes', curve: result.curve }]));
 */
import type * as vl from 'vega-lite';
import { renderSvg } from '../cluster/report.ts';
import type { SwarmPoint } from '../sim/swarm.ts';

export interface SwarmPlotRun {
  label: string;
  curve: ReadonlyArray<Pick<SwarmPoint, 'timeMs' | 'meanAccuracy' | 'worstAccuracy' | 'p10Accuracy' | 'p50Accuracy' | 'p90Accuracy'>>;
}

const STATS = [
  ['mean', 'meanAccuracy'],
  ['worst', 'worstAccuracy'],
  ['p10', 'p10Accuracy'],
  ['p50', 'p50Accuracy'],
  ['p90', 'p90Accuracy'],
] as const;

/** The vega-lite spec (exported for tests). */
export function swarmPlotSpec(runs: readonly SwarmPlotRun[]): vl.TopLevelSpec {
  const values = runs.flatMap((run) => run.curve.flatMap((p) => STATS.map(([stat, key]) => ({ run: run.label, stat, minutes: p.timeMs / 60_000, accuracy: p[key] }))));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Test accuracy of the simulated nodes over simulated time',
    width: 560,
    height: 340,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: { size: 12 } },
    encoding: {
      x: { field: 'minutes', type: 'quantitative', title: 'simulated minutes' },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] } },
      color: { field: 'stat', type: 'nominal', title: 'nodes', sort: STATS.map(([s]) => s) },
      strokeDash: { field: 'run', type: 'nominal', title: 'run' },
    },
  } as vl.TopLevelSpec;
}

/** The chart as SVG text. */
export async function swarmPlotSvg(runs: readonly SwarmPlotRun[]): Promise<string> {
  return renderSvg(swarmPlotSpec(runs));
}
