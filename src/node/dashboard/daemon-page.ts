/**
 * The daemon's dashboard, `GET /` on the metrics port: live charts of
 * accuracy, loss, consensus distance, bytes per second, CPU shares and
 * energy from `/metrics/history`, the key figures and a peer table from
 * `/metrics`, refreshed every 2 s. One self-contained HTML page (uPlot and
 * the page's script inline): no build step, no CDN, no internet. With
 * `--metrics-token` the page sends the token the sign-in page stored
 * (sign-in.ts) as `Authorization: Bearer`.
 *
 *   http.addRoute('GET', '/', () => ({ status: 200, type: 'text/html; charset=utf-8', body: daemonPageHtml() }));
 */
import { inlineSafe, uplotAssets } from './assets.ts';
import { CHART_KIT_JS, PAGE_CSS } from './chart-kit.ts';
import { TOKEN_STORAGE_KEY } from './sign-in.ts';

/** The charts of the daemon page: id, title, unit and the /metrics/history series drawn (src/node/key-metrics/metrics-history.ts). */
export const DAEMON_CHARTS = [
  { id: 'accuracy', title: 'Test accuracy (full test split)', unit: '%', series: [{ key: 'accuracy', label: 'accuracy' }] },
  { id: 'loss', title: 'Test loss', unit: '', series: [{ key: 'loss', label: 'loss' }] },
  {
    id: 'consensus',
    title: 'Consensus distance at merges (relative L2)',
    unit: '',
    series: [
      { key: 'consensusDistance', label: 'latest merge' },
      { key: 'consensusDistanceSmoothed', label: 'smoothed' },
    ],
  },
  {
    id: 'bytes',
    title: 'Exchange bytes per second (last minute)',
    unit: 'B/s',
    series: [
      { key: 'bytesSentPerSecond', label: 'sent' },
      { key: 'bytesReceivedPerSecond', label: 'received' },
    ],
  },
  {
    id: 'cpu',
    title: 'CPU time by work (share of each interval)',
    unit: '%',
    series: [
      { key: 'cpuShareTraining', label: 'training' },
      { key: 'cpuShareCodec', label: 'codec' },
      { key: 'cpuShareMerging', label: 'merging' },
      { key: 'cpuShareEvaluation', label: 'evaluation' },
      { key: 'cpuShareServing', label: 'serving' },
      { key: 'cpuShareOther', label: 'other (libp2p, GC)' },
    ],
  },
  { id: 'energy', title: 'Energy since start', unit: 'J', series: [{ key: 'joules', label: 'joules' }] },
] as const;

const PAGE_JS = `
(function () {
  var KEY = ${JSON.stringify(TOKEN_STORAGE_KEY)};
  var CHARTS = ${JSON.stringify(DAEMON_CHARTS)};
  var REFRESH_MS = 2000;
  var token = sessionStorage.getItem(KEY);
  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  var status = document.getElementById('status');
  var history = null;
  CHARTS.forEach(function (c) { GL.chart(c.id, c.title, c.series.map(function (s) { return s.label; }), c.unit); });

  function get(path) {
    return fetch(path, { headers: headers, cache: 'no-store' }).then(function (response) {
      if (response.status === 401) {
        sessionStorage.removeItem(KEY);
        location.reload();
        throw new Error('the metrics token was refused');
      }
      if (!response.ok) throw new Error(path + ' answered ' + response.status);
      return response.json();
    });
  }
  function addHistory(h) {
    if (history === null) { history = h; return; }
    Object.keys(h.series).forEach(function (name) {
      var column = (history.series[name] || []).concat(h.series[name]);
      if (column.length > h.capacity) column.splice(0, column.length - h.capacity);
      history.series[name] = column;
    });
  }
  function lastTime() {
    var t = history && history.series.time;
    return t && t.length > 0 ? t[t.length - 1] : null;
  }
  function draw() {
    CHARTS.forEach(function (c) {
      GL.update(c.id, [history.series.time].concat(c.series.map(function (s) { return history.series[s.key]; })));
    });
  }
  function set(id, value) { GL.text(document.getElementById(id), value); }
  // Three significant figures, as the chart axes: 0.194, 19.3, 673.
  function sig3(x) { return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2); }
  function ms(summary) {
    return summary.p50 == null ? '-' : sig3(summary.p50) + ' / ' + sig3(summary.p95) + ' / ' + sig3(summary.p99) + ' ms';
  }
  function pct(x) { return x == null ? '-' : (x * 100).toFixed(1) + '%'; }
  function bytes(x) { return x == null ? '-' : x >= 1048576 ? (x / 1048576).toFixed(2) + ' MiB' : x >= 1024 ? (x / 1024).toFixed(1) + ' KiB' : Math.round(x) + ' B'; }
  function ago(iso) {
    if (iso == null) return '-';
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    return s < 90 ? s.toFixed(0) + ' s ago' : (s / 60).toFixed(0) + ' min ago';
  }
  function figures(m) {
    set('peer-id', m.peerId);
    set('identity', 'swarm ' + m.swarm + ' · model ' + m.model.name + ' (' + m.model.params.toLocaleString('en-US') + ' params) · codec ' + m.codec + ' · backend ' + m.backend + ' · up ' + Math.round(m.uptimeSeconds) + ' s');
    set('f-accuracy', m.eval.accuracy == null ? '-' : pct(m.eval.accuracy));
    var slope = m.convergence.accuracySlopePerMinute;
    set('f-slope', slope == null ? '-' : (slope >= 0 ? '+' : '') + (slope * 100).toFixed(2) + ' pt/min');
    set('f-consensus', m.convergence.consensusDistanceSmoothed == null ? '-' : m.convergence.consensusDistanceSmoothed.toPrecision(3));
    set('f-rtt', ms(m.latency.exchangeRoundTripMs));
    set('f-step', ms(m.latency.trainingStepMs));
    set('f-merge', ms(m.latency.updateToMergeMs));
    var c = m.communication;
    set('f-rate', (c.bytesSentPerSecond == null ? '-' : bytes(c.bytesSentPerSecond) + '/s') + ' / ' + (c.bytesReceivedPerSecond == null ? '-' : bytes(c.bytesReceivedPerSecond) + '/s'));
    set('f-per-exchange', bytes(c.bytesPerExchange) + ' · ' + (c.exchangesPerMinute == null ? '-' : c.exchangesPerMinute.toFixed(1)) + '/min');
    var shares = m.compute.shares;
    set('f-cpu', 'train ' + pct(shares.training) + ' · codec ' + pct(shares.codec) + ' · merge ' + pct(shares.merging));
    set('f-energy', (m.energy.joules == null ? '-' : m.energy.joules.toFixed(1) + ' J') + ' (' + m.energy.source + (m.energy.source === 'cpu-time' ? ', ' + m.energy.cpuWatts + ' W/core' : '') + ')');
    set('f-joules-exchange', m.energy.joulesPerExchange == null ? '-' : (m.energy.joulesPerExchange * 1000).toFixed(2) + ' mJ');
    var p = m.privacy;
    set('f-privacy', 'psk ' + (p.psk ? 'on' : 'off') + ' · allowlist ' + (p.allowlist == null ? 'off' : p.allowlist + ' peers') + ' · DP ' + (p.dp == null ? 'off' : 'epsilon ' + (p.dp.epsilon == null ? '0' : p.dp.epsilon.toFixed(2)) + (p.dp.budget == null ? '' : ' of ' + p.dp.budget) + (p.dp.exhausted ? ' (spent)' : '')));
  }
  function peers(m) {
    var body = document.getElementById('peers');
    while (body.firstChild) body.removeChild(body.firstChild);
    m.peerStats.forEach(function (row) {
      var tr = document.createElement('tr');
      [row.peerId, ago(row.lastExchangeAt), row.exchanges, bytes(row.bytesSent), bytes(row.bytesReceived), row.rejections].forEach(function (value, i) {
        var td = document.createElement('td');
        if (i === 0) td.className = 'id';
        GL.text(td, value);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    set('peer-count', '· ' + m.peerStats.length + ' exchanged with · ' + (m.peers.connected == null ? 0 : m.peers.connected) + ' connected · ' + m.exchange.rejected + ' streams rejected');
  }
  function tick() {
    var since = lastTime();
    Promise.all([get('/metrics'), get('/metrics/history' + (since == null ? '' : '?since=' + since))])
      .then(function (results) {
        addHistory(results[1]);
        draw();
        figures(results[0]);
        peers(results[0]);
        set('status', 'updated ' + new Date().toLocaleTimeString() + ' · ' + history.series.time.length + ' points every ' + history.intervalMs / 1000 + ' s');
      })
      .catch(function (err) { set('status', 'no answer from the daemon: ' + err.message); })
      .then(function () { setTimeout(tick, REFRESH_MS); });
  }
  tick();
})();
`;

const FIGURES: Array<[string, string]> = [
  ['f-accuracy', 'accuracy'],
  ['f-slope', 'accuracy slope'],
  ['f-consensus', 'consensus distance'],
  ['f-rtt', 'exchange round trip p50/p95/p99'],
  ['f-step', 'training step p50/p95/p99'],
  ['f-merge', 'update to merge p50/p95/p99'],
  ['f-rate', 'sent / received'],
  ['f-per-exchange', 'per exchange · rate'],
  ['f-cpu', 'CPU since start'],
  ['f-energy', 'energy'],
  ['f-joules-exchange', 'energy per exchange'],
  ['f-privacy', 'privacy'],
];

let cachedPage: string | null = null;

/** The whole page (built once). Throws when uPlot cannot be read (uplotAssets). */
export function daemonPageHtml(): string {
  if (cachedPage !== null) return cachedPage;
  const { js, css } = uplotAssets();
  cachedPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">
<title>gossip-learn daemon</title>
<style>${inlineSafe(css)}</style>
<style>${PAGE_CSS}</style>
</head><body>
<header><h1>gossip-learn daemon <span id="peer-id" class="sub"></span></h1><div id="identity" class="sub"></div></header>
<main>
<div class="figures">
${FIGURES.map(([id, name]) => `<div class="figure"><div class="name">${name}</div><div class="value" id="${id}">-</div></div>`).join('\n')}
</div>
<div class="grid">
${DAEMON_CHARTS.map((c) => `<div class="card" data-chart="${c.id}"></div>`).join('\n')}
</div>
<h2>Peers <span id="peer-count" class="sub"></span></h2>
<div class="card"><table><thead><tr><th>peer id</th><th>last exchange</th><th>exchanges</th><th>sent</th><th>received</th><th>rejected</th></tr></thead><tbody id="peers"></tbody></table></div>
<p id="status">loading...</p>
</main>
<script>${inlineSafe(js)}</script>
<script>${inlineSafe(CHART_KIT_JS)}</script>
<script>${inlineSafe(PAGE_JS)}</script>
</body></html>
`;
  return cachedPage;
}
