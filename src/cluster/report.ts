/**
 * Renders a cluster run's results into files people can look at: SVG charts
 * (accuracy over time per node, cumulative bytes sent per node, accuracy
 * against bytes; the baselines as dashed lines) drawn headless with
 * vega-lite + vega (`View.toSVG()` needs no canvas), and report.html that
 * shows them with the figures, plus the live swarm page's charts over the whole
 * run (swarm-page.ts, uPlot inline). Works from results.json alone, so a finished
 * run, a partial one (launcher died) and an old one all re-render.
 *
 *   const files = await writeReport(results, outDir); // report.html, *.svg
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { describeJoin, RUNNING_STOP_REASON, type ClusterResults, type NodeResult } from './results.ts';
import { byteScale, formatBytes, type ByteScale } from './units.ts';
import { swarmChartsSection, swarmChartsStyles, swarmData } from './swarm-page.ts';

export const REPORT_FILES = {
  html: 'report.html',
  accuracy: 'accuracy.svg',
  bytes: 'bytes.svg',
  accuracyVsBytes: 'accuracy-vs-bytes.svg',
} as const;

const CHART_WIDTH = 420;
const CHART_HEIGHT = 280;

interface Point {
  node: string;
  t: number;
  accuracy: number | null;
  /** Bytes sent so far, in the chart's unit (chartByteScale). */
  sent: number;
}

/** The unit of every byte axis of a run's charts: the one formatBytes would use for the most any node sent. */
export function chartByteScale(results: ClusterResults): ByteScale {
  return byteScale(Math.max(0, ...results.nodes.flatMap((n) => n.series.map((s) => s.bytesSent))));
}

/** Bytes at every poll; accuracy once per evaluation, placed at the time the daemon evaluated. */
export function chartPoints(results: ClusterResults): { bytes: Point[]; accuracy: Point[] } {
  const { bytesPerUnit } = chartByteScale(results);
  const bytes: Point[] = [];
  const accuracy: Point[] = [];
  for (const n of results.nodes) {
    const seen = new Set<number>();
    for (const s of n.series) {
      const sent = s.bytesSent / bytesPerUnit;
      bytes.push({ node: n.name, t: s.t, accuracy: s.accuracy, sent });
      if (s.accuracy === null) continue;
      const t = s.evalT ?? s.t;
      if (seen.has(t)) continue;
      seen.add(t);
      accuracy.push({ node: n.name, t, accuracy: s.accuracy, sent });
    }
  }
  return { bytes, accuracy };
}

/** Dashed horizontal lines at the baselines' accuracies (none when results.json has no baselines). */
function baselineLayers(results: ClusterResults): object[] {
  const b = results.baselines;
  if (b === undefined || b.status !== 'done') return [];
  const values = [
    { accuracy: b.centralizedAccuracy, label: `centralized ${percent(b.centralizedAccuracy)}` },
    { accuracy: b.localMeanAccuracy, label: `local-only mean ${percent(b.localMeanAccuracy)}` },
  ];
  const y = { field: 'accuracy', type: 'quantitative' };
  return [
    { data: { values }, mark: { type: 'rule', strokeDash: [6, 3], color: '#444', opacity: 0.7 }, encoding: { y } },
    {
      data: { values },
      mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -2, dy: -2, color: '#444', fontSize: 10 },
      encoding: { y, x: { value: CHART_WIDTH }, text: { field: 'label' } },
    },
  ];
}

/** Launcher events worth a mark on the time axis: late starts, kills, restarts. */
function eventMarks(results: ClusterResults): { t: number; label: string }[] {
  const byName = new Map(results.nodes.map((n) => [n.name, n]));
  return results.events
    .filter((e) => e.kind === 'kill' || e.kind === 'restart' || (e.kind === 'start' && byName.get(e.node)?.role === 'late'))
    .map((e) => ({ t: e.t, label: `${e.kind === 'start' ? 'late join' : e.kind} ${e.node}` }));
}

function nodeColor(results: ClusterResults): Record<string, unknown> {
  return {
    field: 'node',
    type: 'nominal',
    title: 'node',
    sort: results.nodes.map((n) => n.name),
  };
}

function timeChart(results: ClusterResults, y: { field: 'accuracy' | 'sent'; title: string; domain?: [number, number] }, title: string): vl.TopLevelSpec {
  const xEncoding = { field: 't', type: 'quantitative' as const, title: 'seconds since start' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    background: 'white',
    layer: [
      {
        data: { values: eventMarks(results) },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#999' },
        encoding: { x: xEncoding },
      },
      {
        data: { values: eventMarks(results) },
        mark: { type: 'text', angle: 270, align: 'right', baseline: 'bottom', dx: -4, dy: -2, color: '#777', fontSize: 9 },
        encoding: { x: xEncoding, y: { value: 0 }, text: { field: 'label' } },
      },
      {
        data: { values: y.field === 'accuracy' ? chartPoints(results).accuracy : chartPoints(results).bytes },
        mark: { type: 'line', point: { size: 12 }, interpolate: 'linear' },
        encoding: {
          x: xEncoding,
          y: { field: y.field, type: 'quantitative', title: y.title, ...(y.domain ? { scale: { domain: y.domain } } : {}) },
          color: nodeColor(results),
        },
      },
      ...(y.field === 'accuracy' ? baselineLayers(results) : []),
    ],
  } as vl.TopLevelSpec;
}

function accuracyVsBytesChart(results: ClusterResults): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Test accuracy against bytes sent',
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    background: 'white',
    layer: [
      {
        data: { values: chartPoints(results).accuracy },
        mark: { type: 'line', point: { size: 12 } },
        encoding: {
          x: { field: 'sent', type: 'quantitative', title: `${chartByteScale(results).unit} sent by the node (cumulative)` },
          y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] } },
          color: nodeColor(results),
          order: { field: 't', type: 'quantitative' },
        },
      },
      ...baselineLayers(results),
    ],
  } as vl.TopLevelSpec;
}

export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface RenderedCharts {
  accuracy: string;
  bytes: string;
  accuracyVsBytes: string;
}

export async function renderCharts(results: ClusterResults): Promise<RenderedCharts> {
  return {
    accuracy: await renderSvg(
      timeChart(results, { field: 'accuracy', title: 'test accuracy (full test split)', domain: [0, 1] }, 'Accuracy over time, per node'),
    ),
    bytes: await renderSvg(timeChart(results, { field: 'sent', title: `${chartByteScale(results).unit} sent (cumulative)` }, 'Bytes sent over time, per node')),
    accuracyVsBytes: await renderSvg(accuracyVsBytesChart(results)),
  };
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const percent = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

/** What the run measured against: the baselines paragraph of the report (HTML). */
function yardstickHtml(results: ClusterResults): string {
  const b = results.baselines;
  if (b === undefined) return '<p class="yardstick">No baselines in results.json (<code>npm run cluster -- --report-only DIR</code> computes them).</p>';
  if (b.status === 'skipped') return `<p class="yardstick">Baselines skipped: ${escapeHtml(b.reason)}.</p>`;
  const samples = b.samplesPerNode.toLocaleString('en-US');
  const capped = b.capped ? ` (capped; the daemons trained ${b.daemonSamplesPerNode.toLocaleString('en-US')})` : ' (what the daemons trained on average)';
  return (
    `<p class="yardstick">Yardstick, same data, partition, model and seed, ${samples} samples per node${capped}, ` +
    `${escapeHtml(b.training.optimizer)} lr ${b.training.learningRate}, batch ${b.training.batchSize}: ` +
    `one model trained on all the data reaches <b>${percent(b.centralizedAccuracy)}</b> (centralized), ` +
    `each node alone <b>${percent(b.localMeanAccuracy)}</b> on average, worst ${percent(b.localWorstAccuracy)} (local only). ` +
    `<span class="note">Trained in the launcher with the simulator on ${escapeHtml(b.backend)} in ${b.seconds} s.</span></p>`
  );
}

/** The status line under the headline: how the run ended. */
function endedHtml(results: ClusterResults): string {
  if (results.stopReason === RUNNING_STOP_REASON) {
    return (
      `<p class="warning">This run did not finish: its launcher last wrote results.json at ${escapeHtml(results.endedAt)}, ` +
      `${results.wallSeconds} s after it started ${escapeHtml(results.startedAt)} (it died, or still runs). Figures are as of then.</p>`
    );
  }
  return (
    `<p>Started ${escapeHtml(results.startedAt)}, ended ${escapeHtml(results.endedAt)}. ` +
    `${results.allExited ? 'Every daemon exited.' : '<b>Some daemons did not exit.</b>'}</p>`
  );
}

/** The node table's join cell: teacher (short id, full in the tooltip), accuracy before and after, time, bytes. */
function joinCell(n: NodeResult): string {
  const join = describeJoin(n.distill);
  return join === null ? '–' : escapeHtml(join);
}

const shortPeerId = (id: string | null): string => (id === null ? '–' : `<code title="${escapeHtml(id)}">${escapeHtml(id.slice(0, 12))}…</code>`);

export function renderHtml(results: ClusterResults, charts: RenderedCharts): string {
  const c = results.config;
  const f = results.final;
  const configRows: [string, string][] = [
    ['nodes', `${c.nodes} (${c.lateJoin} late, after ${c.lateJoinDelaySeconds} s)`],
    ['duration', `${c.durationSeconds} s (wall ${results.wallSeconds} s, stopped by ${results.stopReason})`],
    ['data / partition', `${c.data} / ${c.partition}`],
    ['model', c.model],
    ['codec', c.codec ?? `daemon default (${[...new Set(results.nodes.map((n) => n.codec).filter((x) => x !== null))].join(', ') || 'unknown'})`],
    ['pacing', `${c.stepsPerInterval} training steps per 500 ms, duty cycle ${c.dutyCycle}; exchange timer every ${c.exchangeIntervalMs} ms (an exchange after the daemons' local steps per exchange)`],
    ['churn', c.churnSeconds > 0 ? `kill -9 every ${c.churnSeconds} s, down ${c.churnDowntimeSeconds} s` : 'off'],
    ['seed', String(c.seed)],
  ];
  const num = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x.toLocaleString('en-US'));
  const nodeRows = results.nodes
    .map(
      (n) =>
        `<tr><td>${escapeHtml(n.name)}</td><td>${n.role}</td><td class="n">${percent(n.final.accuracy)}</td><td class="n">${num(n.final.age)}</td>` +
        `<td class="n">${num(n.final.trainingSteps)}</td><td class="n">${num(n.final.exchanges)}</td><td class="n">${num(n.final.merged)}</td>` +
        `<td class="n">${formatBytes(n.final.bytesSent)}</td><td class="n">${formatBytes(n.final.bytesReceived)}</td><td class="n">${n.restarts}</td>` +
        `<td class="wrap">${joinCell(n)}</td><td>${shortPeerId(n.peerId)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gossip-learn cluster report</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1300px; }
  table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
  table.nodes { width: 100%; }
  td, th { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; white-space: nowrap; vertical-align: top; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  td.wrap { white-space: normal; min-width: 14rem; }
  .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
  .charts svg { max-width: 100%; height: auto; }
  .headline { font-size: 1.2rem; }
  .yardstick { max-width: 60rem; }
  .note { color: #666; }
  .warning { background: #fff4d6; padding: 0.5rem 0.75rem; max-width: 60rem; }
  code { font-size: 0.8rem; }
</style>
${swarmChartsStyles()}
</head>
<body>
<h1>gossip-learn cluster report</h1>
<p class="headline">Mean accuracy <b>${percent(f.meanAccuracy)}</b>, worst node <b>${percent(f.worstAccuracy)}</b>,
${formatBytes(f.meanBytesSentPerNode)} sent per node on average, ${f.totalExchanges.toLocaleString('en-US')} exchanges.</p>
${yardstickHtml(results)}
${endedHtml(results)}
<div class="charts">
${charts.accuracy}
${charts.bytes}
${charts.accuracyVsBytes}
</div>
<h2>Swarm charts</h2>
<p class="note">The charts of the live swarm page (npm run cluster prints its URL), over the whole run: every node on one chart.</p>
${swarmChartsSection(swarmData(results))}
<h2>Nodes</h2>
<table class="nodes">
<tr><th>node</th><th>role</th><th>accuracy</th><th>age</th><th>steps</th><th>exchanges</th><th>merged</th><th>sent</th><th>received</th><th>restarts</th><th>join</th><th>peer id</th></tr>
${nodeRows}
</table>
<p class="note">accuracy: the node's last evaluation on the full test split. age: training steps its model embodies, its own and those merged in from peers.
steps: training steps the node ran itself (over restarts). Bytes in binary units (1 KiB = 1024 B).</p>
<h2>Configuration</h2>
<table>
${configRows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n')}
</table>
<p>Raw figures: <a href="results.json">results.json</a>. Daemon logs: <code>nodes/&lt;name&gt;/daemon.log</code>.
Re-render: <code>npm run cluster -- --report-only &lt;this dir&gt;</code>.</p>
</body>
</html>
`;
}

/** Writes report.html and the SVG charts at the top of outDir; returns the paths. */
export async function writeReport(results: ClusterResults, outDir: string): Promise<string[]> {
  const charts = await renderCharts(results);
  const files: [string, string][] = [
    [REPORT_FILES.accuracy, charts.accuracy],
    [REPORT_FILES.bytes, charts.bytes],
    [REPORT_FILES.accuracyVsBytes, charts.accuracyVsBytes],
    [REPORT_FILES.html, renderHtml(results, charts)],
  ];
  for (const [name, content] of files) await writeFile(join(outDir, name), content);
  return files.map(([name]) => join(outDir, name));
}
