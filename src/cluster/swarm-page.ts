/**
 * The swarm page: every node of a cluster run on one chart per figure
 * (accuracy, loss, consensus distance, bytes sent per second, training's
 * share of CPU time, energy), drawn with the daemon dashboard's chart code
 * (src/node/dashboard/chart-kit.ts, uPlot inline: no CDN, no internet).
 * Two uses, one page body:
 *
 * - live, while `npm run cluster` runs: the launcher serves it
 *   (swarm-dashboard.ts) and the page polls `/swarm.json` every 2 s;
 * - in report.html at the end: the same charts with the run's series
 *   embedded (report.ts).
 *
 *   swarmPageHtml({ live: true });                          // the served page
 *   swarmChartsSection(swarmData(results));                 // report.html's section
 */
import { CHART_KIT_JS, PAGE_CSS } from '../node/dashboard/chart-kit.ts';
import { inlineSafe, uplotAssets } from '../node/dashboard/assets.ts';
import type { NodeSample } from './results.ts';

/** What the swarm charts draw: the run's start and each node's samples (t in seconds since the start). */
export interface SwarmData {
  startedAt: string;
  nodes: Array<{ name: string; series: readonly NodeSample[] }>;
}

/** The swarm charts: one line per node of the NodeSample field `key`. */
export const SWARM_CHARTS = [
  { id: 'swarm-accuracy', key: 'accuracy', title: 'Test accuracy per node', unit: '%' },
  { id: 'swarm-loss', key: 'loss', title: 'Test loss per node', unit: '' },
  { id: 'swarm-consensus', key: 'consensusDistance', title: 'Consensus distance per node (smoothed)', unit: '' },
  { id: 'swarm-bytes', key: 'bytesSentPerSecond', title: 'Exchange bytes sent per second per node', unit: 'B/s' },
  { id: 'swarm-cpu', key: 'cpuShareTraining', title: "Training's share of CPU time per node", unit: '%' },
  { id: 'swarm-energy', key: 'joules', title: 'Energy per node (over restarts)', unit: 'J' },
] as const satisfies ReadonlyArray<{ id: string; key: keyof NodeSample; title: string; unit: string }>;

export function swarmData(results: { startedAt: string; nodes: ReadonlyArray<{ name: string; series: readonly NodeSample[] }> }): SwarmData {
  return { startedAt: results.startedAt, nodes: results.nodes.map((n) => ({ name: n.name, series: n.series })) };
}

/** The page's own script: `live` polls /swarm.json, otherwise it reads the JSON embedded in #swarm-data. */
function swarmScript(live: boolean): string {
  return `
(function () {
  var CHARTS = ${JSON.stringify(SWARM_CHARTS)};
  var created = null;
  function render(data) {
    var names = data.nodes.map(function (n) { return n.name; });
    if (created === null) {
      CHARTS.forEach(function (c) { GL.chart(c.id, c.title, names, c.unit); });
      created = names.join(',');
    }
    var start = Date.parse(data.startedAt) / 1000;
    CHARTS.forEach(function (c) {
      var tables = data.nodes.map(function (n) {
        var xs = [], ys = [];
        n.series.forEach(function (s) {
          var x = Math.round((start + s.t) * 1000) / 1000;
          if (xs.length > 0 && x <= xs[xs.length - 1]) return;
          xs.push(x);
          var v = s[c.key];
          ys.push(v === undefined ? null : v);
        });
        return [xs, ys];
      });
      GL.update(c.id, tables.length > 0 ? uPlot.join(tables) : [[]]);
    });
    var status = document.getElementById('swarm-status');
    if (status) GL.text(status, names.length + ' nodes · ' + data.nodes.reduce(function (s, n) { return s + n.series.length; }, 0) + ' samples' + ${live ? "' · updated ' + new Date().toLocaleTimeString()" : "''"});
  }
  ${
    live
      ? `function tick() {
    fetch('/swarm.json', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('/swarm.json answered ' + r.status); return r.json(); })
      .then(render)
      .catch(function (err) { var s = document.getElementById('swarm-status'); if (s) GL.text(s, 'the launcher did not answer: ' + err.message); })
      .then(function () { setTimeout(tick, 2000); });
  }
  tick();`
      : `render(JSON.parse(document.getElementById('swarm-data').textContent));`
  }
})();
`;
}

/** The chart boxes and scripts (uPlot, chart kit, swarm script); with `embedded` data for a static page. */
function chartsBody(live: boolean, embedded: SwarmData | null): string {
  const { js } = uplotAssets();
  const data = embedded === null ? '' : `<script type="application/json" id="swarm-data">${JSON.stringify(embedded).replace(/</g, '\\u003c')}</script>`;
  return `<div class="grid">
${SWARM_CHARTS.map((c) => `<div class="card" data-chart="${c.id}"></div>`).join('\n')}
</div>
<p id="swarm-status" class="note"></p>
${data}
<script>${inlineSafe(js)}</script>
<script>${inlineSafe(CHART_KIT_JS)}</script>
<script>${inlineSafe(swarmScript(live))}</script>`;
}

/** Styles the charts need (uPlot's and the dashboard's), for a page that has its own. */
export function swarmChartsStyles(): string {
  return `<style>${inlineSafe(uplotAssets().css)}</style>
<style>.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px; min-width: 0; }</style>`;
}

/** report.html's section: the swarm charts over the whole run (needs swarmChartsStyles() in the head). */
export function swarmChartsSection(data: SwarmData): string {
  return chartsBody(false, data);
}

/** The live page the cluster launcher serves. */
export function swarmPageHtml(options: { title: string }): string {
  const { css } = uplotAssets();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">
<title>${escapeHtml(options.title)}</title>
<style>${inlineSafe(css)}</style>
<style>${PAGE_CSS}</style>
</head><body>
<header><h1>${escapeHtml(options.title)}</h1><div class="sub">every node on one chart, live (npm run cluster)</div></header>
<main>
${chartsBody(true, null)}
</main>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
