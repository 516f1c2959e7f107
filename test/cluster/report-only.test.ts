/**
 * `npm run cluster -- --report-only DIR`: re-rendering a report from
 * results.json alone, on a fixture left by a real launcher that was killed
 * with kill -9 22 s into a 3-node run (fixtures/died-run/results.json, one
 * late joiner), and on the same file as an older launcher would have
 * written it.
 */
import { DEFAULT_GOSSIP_TRAINING } from '../../src/train/training-defaults.ts';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseClusterCommand } from '../../src/cluster/options.ts';
import { REPORT_FILES } from '../../src/cluster/report.ts';
import { readResultsFile, RESULTS_FILE, type ClusterResults } from '../../src/cluster/results.ts';

const clusterScript = fileURLToPath(new URL('../../scripts/cluster.ts', import.meta.url));
const fixtureDir = fileURLToPath(new URL('./fixtures/died-run', import.meta.url));

function runCluster(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [clusterScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('cluster --report-only', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-report-only-'));
    await cp(fixtureDir, dir, { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses as a re-render that takes only --no-baselines', () => {
    assert.deepEqual(parseClusterCommand(['--report-only', 'runs/x']), { kind: 'report', dir: 'runs/x', baselines: true });
    assert.deepEqual(parseClusterCommand(['--report-only', 'runs/x', '--no-baselines']), { kind: 'report', dir: 'runs/x', baselines: false });
    assert.throws(() => parseClusterCommand(['--report-only', 'runs/x', '--nodes', '3']), {
      name: 'ClusterError',
      reason: 'bad-option',
      message: "--report-only takes only --no-baselines (got --nodes): the run's settings come from its results.json",
    });
  });

  it('renders the report of a run whose launcher died, saying so, without touching results.json', async () => {
    const before = await readFile(join(dir, RESULTS_FILE), 'utf8');
    const run = await runCluster(['--report-only', dir, '--no-baselines']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.deepEqual(lines, [
      `cluster: ${join(dir, RESULTS_FILE)} is from a run that did not finish (its launcher died or still runs): the report shows it as of 2026-11-30T05:13:28.793Z, 22 s in`,
      'cluster: did not finish; figures as of 2026-11-30T05:13:28.793Z. Mean accuracy 71.3%, worst 61.8%, 641.6 KiB sent per node (codec topk:0.1+q4+deflate), 146 exchanges.',
      'cluster: yardstick: no baselines in results.json',
      `cluster: report  ${join(dir, REPORT_FILES.html)}`,
    ]);
    assert.equal(await readFile(join(dir, RESULTS_FILE), 'utf8'), before, 'results.json unchanged');
    const html = await readFile(join(dir, REPORT_FILES.html), 'utf8');
    assert.match(html, /This run did not finish: its launcher last wrote results\.json at 2026-11-30T05:13:28\.793Z, 22 s after it started/);
    assert.equal(html.match(/<svg /g)?.length, 3);
    assert.equal(html.match(/<tr><td>node-\d<\/td>/g)?.length, 3);
    assert.match(html, /<td>late<\/td>.*distilled from 12D3KooW/);
    for (const file of Object.values(REPORT_FILES)) assert.ok((await readdir(dir)).includes(file), file);
  });

  it('re-renders a results.json of an older launcher (no training steps, no baselines)', async () => {
    const results = JSON.parse(await readFile(join(dir, RESULTS_FILE), 'utf8')) as ClusterResults;
    for (const node of results.nodes) {
      delete node.final.trainingSteps;
      for (const sample of node.series) delete sample.trainingSteps;
    }
    delete results.config.baselines;
    results.stopReason = 'duration';
    results.allExited = true;
    await writeFile(join(dir, RESULTS_FILE), JSON.stringify(results));
    const run = await runCluster(['--report-only', dir]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^cluster: yardstick: baselines skipped: results\.json has no training step counts \(it was written before the launcher recorded them\)$/m);
    assert.match(await readFile(join(dir, REPORT_FILES.html), 'utf8'), /Baselines skipped: results\.json has no training step counts/);
  });

  it('trains the missing baselines at the budget the daemons had, and keeps them in results.json', async () => {
    const run = await runCluster(['--report-only', dir]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    // 210 + 205 + 65 steps of 32 over 3 nodes.
    // The daemon's training defaults (src/train/training-defaults.ts), as the daemons that wrote results.json used them.
    const { optimizer, learningRate, batchSize } = DEFAULT_GOSSIP_TRAINING;
    assert.ok(run.stdout.includes(`\ncluster: baselines: 5,120 samples per node (as the daemons trained), ${optimizer} lr ${learningRate} batch ${batchSize}, `), run.stdout);
    const results = await readResultsFile(dir);
    assert.equal(results.baselines?.status, 'done');
    const html = await readFile(join(dir, REPORT_FILES.html), 'utf8');
    assert.match(html, /Yardstick, same data, partition, model and seed, 5,120 samples per node/);
    assert.match(html, /centralized \d+\.\d%<\/text>/, 'a dashed line on the accuracy charts');
    const again = await runCluster(['--report-only', dir]);
    assert.doesNotMatch(again.stdout, /training the baselines/, 'computed once');
  });

  it('says what is wrong with a dir that is not a cluster run', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const missing = await runCluster(['--report-only', empty]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `cluster: --report-only: no results.json in ${empty} (give the output dir of a cluster run; the launcher writes it within 10 s of the nodes being up)\n`,
    );
    await writeFile(join(empty, RESULTS_FILE), '{"format": "something-else", "version": 1}');
    const foreign = await runCluster(['--report-only', empty]);
    assert.equal(foreign.code, 1);
    assert.equal(
      foreign.stderr,
      `cluster: --report-only: ${join(empty, RESULTS_FILE)} is not a cluster results file (its "format" is "something-else", expected "gossip-learn-cluster-results")\n`,
    );
    const extra = await runCluster(['--report-only', empty, '--duration', '1m']);
    assert.equal(extra.code, 2);
    assert.equal(extra.stderr, "cluster: --report-only takes only --no-baselines (got --duration): the run's settings come from its results.json\nRun with --help for the options.\n");
  });
});
