import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartPoints, renderCharts, renderHtml, REPORT_FILES, writeReport } from '../../src/cluster/report.ts';
import { syntheticResults } from './synthetic.ts';

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

/** The <line> elements inside the chart's own rule marks (not axis grid or ticks). */
function eventRules(svg: string): number {
  const group = svg.match(/<g class="mark-rule role-mark[^>]*>(.*?)<\/g>/);
  return group ? count(group[1] as string, /<line /g) : 0;
}

describe('cluster report', () => {
  it('draws one accuracy line per node, a legend entry each, and a rule per late join, kill and restart', async () => {
    const charts = await renderCharts(syntheticResults());
    assert.match(charts.accuracy, /^<svg /);
    assert.equal(count(charts.accuracy, /<g class="mark-line role-mark/g), 3);
    for (const name of ['node-0', 'node-1', 'node-2']) assert.equal(count(charts.accuracy, new RegExp(`>${name}<`, 'g')), 1);
    assert.equal(eventRules(charts.accuracy), 3);
    assert.match(charts.accuracy, /Accuracy over time, per node/);
  });

  it('plots each evaluation once, at the time the daemon evaluated, and bytes at every poll', () => {
    const results = syntheticResults();
    const { accuracy, bytes } = chartPoints(results);
    const node0 = accuracy.filter((p) => p.node === 'node-0');
    // Polls every 2 s from 2 to 60 s, evaluations every 4 s from 6 s on (evaluated 0.5 s before a multiple of 4).
    assert.deepEqual(node0.map((p) => p.t).slice(0, 3), [3.5, 7.5, 11.5]);
    assert.equal(new Set(node0.map((p) => p.t)).size, node0.length);
    assert.equal(bytes.filter((p) => p.node === 'node-0').length, 30);
  });

  it('draws cumulative bytes and accuracy against bytes per node', async () => {
    const charts = await renderCharts(syntheticResults());
    assert.equal(count(charts.bytes, /<g class="mark-line role-mark/g), 3);
    // The most a node sent is 60,000 B: the axes are in KiB, as the tables are.
    assert.match(charts.bytes, />KiB sent \(cumulative\)</);
    assert.match(charts.accuracyVsBytes, />KiB sent by the node \(cumulative\)</);
    assert.ok(!/MB/.test(charts.bytes + charts.accuracyVsBytes), 'no decimal megabytes anywhere');
    assert.equal(count(charts.accuracyVsBytes, /<g class="mark-line role-mark/g), 3);
  });

  it('writes report.html and the SVG files at the top of the output dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gl-report-'));
    try {
      const written = await writeReport(syntheticResults(), dir);
      assert.deepEqual(
        (await readdir(dir)).sort(),
        [REPORT_FILES.accuracyVsBytes, REPORT_FILES.accuracy, REPORT_FILES.bytes, REPORT_FILES.html].sort(),
      );
      assert.equal(written.length, 4);
      const html = await readFile(join(dir, REPORT_FILES.html), 'utf8');
      assert.match(html, /^<!doctype html>/);
      assert.equal(count(html, /<svg /g), 3, 'charts are inlined: the page works when copied alone');
      assert.equal(count(html, /<tr><td>node-\d<\/td>/g), 3);
      assert.match(html, /<td>late<\/td>.*distilled from 12D3KooWpeer0… 10\.0% → 70\.0% in 2\.0 s \(4\.0 KiB\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the codec the daemons reported when none was given', async () => {
    const results = syntheticResults();
    assert.equal(results.config.codec, null);
    assert.match(renderHtml(results, await renderCharts(results)), /<th>codec<\/th><td>daemon default \(q8\+deflate\)<\/td>/);
  });

  it('escapes text from the configuration', async () => {
    const results = syntheticResults();
    results.config.data = 'csv:<script>alert(1)</script>';
    const html = renderHtml(results, await renderCharts(results));
    assert.ok(!html.includes('<script>alert'));
    assert.match(html, /csv:&lt;script&gt;/);
  });

});
