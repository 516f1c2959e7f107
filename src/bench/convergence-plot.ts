/**
 * The accuracy-vs-bytes chart of npm run bench:convergence: mean test
 * accuracy (full test split) against bytes sent per node, log x, one line
 * per gossip run and seed; the modes that send nothing (centralized, local)
 * as dashed horizontal rules at their final accuracy. Rendered headless to
 * SVG with the cluster report's vega-lite renderer (src/cluster/report.ts).
 *
 *   await writeFile('convergence.svg', await convergencePlotSvg(runs));
 */
import type * as vl from 'vega-lite';
import { renderSvg } from '../cluster/report.ts';

/** What the chart needs of a benchmark run. */
export interface PlotRun {
  label: string;
  seed: number;
  meanAccuracy: number;
  /** false: the mode sends nothing (drawn as a rule). */
  sends: boolean;
  curve: ReadonlyArray<{ bytesPerNode: number; meanAccuracy: number; samples: number }>;
}

/** The vega-lite spec (exported for tests). Points with 0 bytes cannot sit on a log axis and are left out. */
export function convergencePlotSpec(runs: readonly PlotRun[]): vl.TopLevelSpec {
  const lines = runs
    .filter((r) => r.sends)
    .flatMap((r) => r.curve.filter((p) => p.bytesPerNode > 0).map((p) => ({ run: r.label, seed: `seed ${r.seed}`, mb: p.bytesPerNode / 1e6, accuracy: p.meanAccuracy, samples: p.samples })));
  const rules = runs.filter((r) => !r.sends).map((r) => ({ run: r.label, seed: `seed ${r.seed}`, accuracy: r.meanAccuracy }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Mean test accuracy against bytes sent per node (full test split)',
    width: 560,
    height: 340,
    background: 'white',
    layer: [
      {
        data: { values: lines },
        mark: { type: 'line', point: { size: 14 } },
        encoding: {
          x: { field: 'mb', type: 'quantitative', title: 'MB sent per node (log)', scale: { type: 'log' } },
          y: { field: 'accuracy', type: 'quantitative', title: 'mean test accuracy', scale: { zero: false } },
          color: { field: 'run', type: 'nominal', title: 'run' },
          strokeDash: { field: 'seed', type: 'nominal', title: 'seed' },
          order: { field: 'samples', type: 'quantitative' },
        },
      },
      {
        data: { values: rules },
        mark: { type: 'rule', strokeDash: [4, 4] },
        encoding: { y: { field: 'accuracy', type: 'quantitative' }, color: { field: 'run', type: 'nominal' } },
      },
    ],
  } as vl.TopLevelSpec;
}

/** The chart as SVG text. */
export async function convergencePlotSvg(runs: readonly PlotRun[]): Promise<string> {
  return renderSvg(convergencePlotSpec(runs));
}
