/**
 * Renders a cluster run's results into files people can look at: SVG charts
 * (accuracy over time per node, cumulative bytes sent per node, accuracy
 * against bytes) drawn headless with vega-lite + vega (`View.toSVG()` needs
 * no canvas), and report.html that shows them with the figures.
 *
 *   const files = await writeReport(results, outDir); // report.html, *.svg
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { describeJoin, type ClusterResults } from './results.ts';

export const REPORT_FILES = {
  html: 'report.html',
  accuracy: 'accuracy.svg',
  bytes: 'bytes.svg',
  accuracyVsBytes: 'accuracy-vs-bytes.svg',
} as const;

const CHART_WIDTH = 420;
const CHART_HEIGHT = 280;
const BYTES_PER_MB = 1e6;

interface Point {
  node: string;
  t: number;
  accuracy: number | null;
  megabytesSent: number;
}

/** Bytes at every poll; accuracy once per evaluation, placed at the time the daemon evaluated. */
export function chartPoints(results: ClusterResults): { bytes: Point[]; accuracy: Point[] } {
  const bytes: Point[] = [];
  const accuracy: Point[] = [];
  for (const n of results.nodes) {
    const seen = new Set<number>();
    for (const s of n.series) {
      const megabytesSent = s.bytesSent / BYTES_PER_MB;
      bytes.push({ node: n.name, t: s.t, accuracy: s.accuracy, megabytesSent });
      if (s.accuracy === null) continue;
      const t = s.evalT ?? s.t;
      if (seen.has(t)) continue;
      seen.add(t);
      accuracy.push({ node: n.name, t, accuracy: s.accuracy, megabytesSent });
    }
  }
  return { bytes, accuracy };
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

function timeChart(results: ClusterResults, y: { field: string; title: string; domain?: [number, number] }, title: string): vl.TopLevelSpec {
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
    ],
  } as vl.TopLevelSpec;
}

function accuracyVsBytesChart(results: ClusterResults): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Test accuracy against megabytes sent',
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    background: 'white',
    data: { values: chartPoints(results).accuracy },
    mark: { type: 'line', point: { size: 12 } },
    encoding: {
      x: { field: 'megabytesSent', type: 'quantitative', title: 'MB sent by the node (cumulative)' },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] } },
      color: nodeColor(results),
      order: { field: 't', type: 'quantitative' },
    },
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
    bytes: await renderSvg(timeChart(results, { field: 'megabytesSent', title: 'MB sent (cumulative)' }, 'Bytes sent over time, per node')),
    accuracyVsBytes: await renderSvg(accuracyVsBytesChart(results)),
  };
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const percent = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function renderHtml(results: ClusterResults, charts: RenderedCharts): string {
  const c = results.config;
  const f = results.final;
  const configRows: [string, string][] = [
    ['nodes', `${c.nodes} (${c.lateJoin} late, after ${c.lateJoinDelaySeconds} s)`],
    ['duration', `${c.durationSeconds} s (wall ${results.wallSeconds} s, stopped by ${results.stopReason})`],
    ['data / partition', `${c.data} / ${c.partition}`],
    ['model', c.model],
    ['codec', c.codec ?? `daemon default (${[...new Set(results.nodes.map((n) => n.codec).filter((x) => x !== null))].join(', ') || 'unknown'})`],
    ['churn', c.churnSeconds > 0 ? `kill -9 every ${c.churnSeconds} s, down ${c.churnDowntimeSeconds} s` : 'off'],
    ['seed', String(c.seed)],
  ];
  const nodeRows = results.nodes
    .map(
      (n) =>
        `<tr><td>${escapeHtml(n.name)}</td><td>${n.role}</td><td>${percent(n.final.accuracy)}</td><td>${n.final.age ?? '–'}</td>` +
        `<td>${n.final.exchanges}</td><td>${n.final.merged}</td><td>${formatBytes(n.final.bytesSent)}</td>` +
        `<td>${formatBytes(n.final.bytesReceived)}</td><td>${n.restarts}</td><td>${escapeHtml(describeJoin(n.distill) ?? '–')}</td>` +
        `<td><code title="${escapeHtml(n.peerId ?? '')}">${escapeHtml(n.peerId === null ? '–' : `${n.peerId.slice(0, 16)}…`)}</code></td></tr>`,
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
  td, th { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: left; white-space: nowrap; }
  .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
  .headline { font-size: 1.2rem; }
  code { font-size: 0.8rem; }
</style>
</head>
<body>
<h1>gossip-learn cluster report</h1>
<p class="headline">Mean accuracy <b>${percent(f.meanAccuracy)}</b>, worst node <b>${percent(f.worstAccuracy)}</b>,
${formatBytes(f.meanBytesSentPerNode)} sent per node on average, ${f.totalExchanges} exchanges.</p>
<p>Started ${escapeHtml(results.startedAt)}, ended ${escapeHtml(results.endedAt)}.
${results.allExited ? 'Every daemon exited.' : '<b>Some daemons did not exit.</b>'}</p>
<div class="charts">
${charts.accuracy}
${charts.bytes}
${charts.accuracyVsBytes}
</div>
<h2>Nodes</h2>
<table>
<tr><th>node</th><th>role</th><th>accuracy</th><th>age</th><th>exchanges</th><th>merged</th><th>sent</th><th>received</th><th>restarts</th><th>join</th><th>peer id</th></tr>
${nodeRows}
</table>
<h2>Configuration</h2>
<table>
${configRows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n')}
</table>
<p>Raw figures: <a href="results.json">results.json</a>. Daemon logs: <code>nodes/&lt;name&gt;/daemon.log</code>.</p>
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
