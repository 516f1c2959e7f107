/**
 * Browser code shared by the dashboard pages (the daemon's `GET /`, the
 * cluster's swarm page and report.html): a small layer over uPlot that draws
 * one chart per figure, keeps it the width of its box and exposes every chart
 * as `window.gossipLearnCharts[id]` (the browser test reads the points the
 * charts hold from there). Plain ES2017 in a string: served as is, no build.
 *
 * In the page: `GL.chart(id, title, seriesLabels, unit)` creates a chart in
 * `<div data-chart="id">`, `GL.update(id, [xs, ys1, ys2, ...])` sets its data
 * (x in Unix seconds, null for gaps), `GL.text(el, value)` writes text
 * safely (peer ids and other values from the network never become HTML).
 */

export const CHART_KIT_JS = `
(function () {
  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  var charts = {};
  window.gossipLearnCharts = charts;
  function fmt(unit) {
    return function (u, v) {
      if (v == null) return '-';
      if (unit === '%') return (v * 100).toFixed(1) + '%';
      if (unit === 'B/s') return v >= 1048576 ? (v / 1048576).toFixed(2) + ' MiB/s' : v >= 1024 ? (v / 1024).toFixed(1) + ' KiB/s' : v.toFixed(0) + ' B/s';
      if (unit === 'J') return v >= 1000 ? (v / 1000).toFixed(2) + ' kJ' : v.toFixed(1) + ' J';
      return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
    };
  }
  function box(id) {
    var el = document.querySelector('[data-chart="' + id + '"]');
    if (!el) throw new Error('no chart box ' + id);
    return el;
  }
  window.GL = {
    palette: PALETTE,
    chart: function (id, title, labels, unit) {
      var el = box(id);
      var f = fmt(unit);
      var series = [{}].concat(labels.map(function (label, i) {
        return { label: label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, value: f, points: { size: 4 } };
      }));
      var opts = {
        title: title,
        width: Math.max(280, el.clientWidth),
        height: 220,
        series: series,
        axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return f(u, v); }); }, size: 84 }],
        scales: { x: { time: true } },
        legend: { live: true },
      };
      var empty = [[]].concat(labels.map(function () { return []; }));
      charts[id] = new uPlot(opts, empty, el);
      return charts[id];
    },
    has: function (id) { return !!charts[id]; },
    update: function (id, data) {
      var u = charts[id];
      if (u) u.setData(data);
    },
    text: function (el, value) {
      el.textContent = value == null ? '-' : String(value);
    },
    fmt: fmt,
  };
  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (id) {
      var el = box(id);
      charts[id].setSize({ width: Math.max(280, el.clientWidth), height: 220 });
    });
  });
})();
`;

/** Styles shared by the pages (uPlot's own stylesheet is inlined next to them). */
export const PAGE_CSS = `
body { font: 14px system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 10px 18px; background: #243447; color: #fff; }
header h1 { font-size: 18px; margin: 0 0 4px; }
header .sub { font-size: 12px; opacity: .85; word-break: break-all; }
main { padding: 12px 18px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px; min-width: 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; margin-bottom: 12px; }
.figure { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; }
.figure .name { font-size: 11px; color: #666; text-transform: uppercase; letter-spacing: .03em; }
.figure .value { font-size: 17px; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; font-size: 13px; }
td.id { font-family: ui-monospace, monospace; font-size: 12px; }
h2 { font-size: 15px; margin: 16px 0 6px; }
#status { font-size: 12px; color: #666; }
`;
