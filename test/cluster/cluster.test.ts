/**
 * The real thing, small: `npm run cluster`'s launcher with real
 * `gossip-learn daemon` processes on 127.0.0.1 (tfjs, libp2p, real TCP).
 * A tiny model keeps it to a few seconds of training; the run is stopped
 * (SIGTERM, as a person would) once every daemon has learned and exchanged,
 * never after a fixed duration.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDaemonMetrics, METRICS_LINE } from '../../src/cluster/child-process.ts';
import { PIDS_FILE, RESULTS_FILE } from '../../src/cluster/launcher.ts';
import { REPORT_FILES } from '../../src/cluster/report.ts';
import type { ClusterResults } from '../../src/cluster/results.ts';
import { isAlive, waitFor } from '../helpers/process.ts';
import { killRecordedDaemons } from './launcher-pids.ts';

const clusterScript = fileURLToPath(new URL('../../scripts/cluster.ts', import.meta.url));
/** MNIST has 10 classes: a node that learned nothing scores about 0.1. */
const CHANCE_ACCURACY = 0.1;
/**
 * The run stops once every daemon evaluates at least this (they pass 0.75 within a few seconds of
 * training); results.json, polled a moment later, must still show clearly more than chance
 * (CHANCE_ACCURACY + 0.2), so an evaluation landing in between cannot fail a working swarm.
 */
const LEARNED_ACCURACY = CHANCE_ACCURACY + 0.4;

/** Flags for a small, quick swarm: a tiny model, frequent evaluations and exchanges. */
const smallSwarm = [
  '--data', 'mnist', '--model', 'mlp-small', '--partition', 'iid', '--seed', '3',
  '--exchange-interval', '1s', '--steps-per-interval', '40', '--duty-cycle', '1',
  '--daemon-arg=--eval-interval=2s', '--daemon-arg=--log-level=warn',
  '--poll-interval', '500ms', '--progress', 'plain', '--progress-every', '5',
];

function runLauncher(args: string[]) {
  const child = spawn(process.execPath, [clusterScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Each daemon's /metrics URL, from the ready line in its log (null until it printed it). */
async function metricsUrls(dir: string, nodes: number): Promise<(string | null)[]> {
  return Promise.all(
    Array.from({ length: nodes }, async (_, i) => {
      const log = await readFile(join(dir, 'nodes', `node-${i}`, 'daemon.log'), 'utf8').catch(() => '');
      return log.match(METRICS_LINE)?.[1] ?? null;
    }),
  );
}

/** True once every daemon reports an accuracy of at least LEARNED_ACCURACY and has exchanged and sent bytes. */
async function everyNodeLearned(dir: string, nodes: number): Promise<boolean> {
  const urls = await metricsUrls(dir, nodes);
  if (urls.some((u) => u === null)) return false;
  const metrics = await Promise.all(urls.map((u) => getDaemonMetrics(u as string).catch(() => null)));
  return metrics.every(
    (m) =>
      m !== null &&
      (m.eval.accuracy ?? 0) >= LEARNED_ACCURACY &&
      m.exchange.initiated + m.exchange.accepted > 0 &&
      m.exchange.bytesSent > 0,
  );
}

async function recordedPids(dir: string): Promise<number[]> {
  const pids = JSON.parse(await readFile(join(dir, PIDS_FILE), 'utf8')) as { nodes: Record<string, number[]> };
  return Object.values(pids.nodes).flat();
}

describe('npm run cluster (real daemons)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-cluster-'));
  });
  afterEach(async () => {
    await killRecordedDaemons(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs 3 daemons that learn and exchange, trains the baselines, writes results.json and the report, and leaves nothing running', async () => {
    // --duration is only a cap: the run is stopped once every daemon has learned and exchanged.
    const run = runLauncher([...smallSwarm, '--nodes', '3', '--late-join', '0', '--duration', '600', '--out', dir]);
    let code: number | null;
    try {
      await waitFor(
        async () => /3 nodes up/.test(run.output()) && (await everyNodeLearned(dir, 3)),
        90_000,
        `every daemon to reach accuracy ${LEARNED_ACCURACY} and exchange`,
      );
      run.child.kill('SIGTERM');
      code = await run.exited;
    } finally {
      run.child.kill('SIGKILL');
    }
    assert.equal(code, 0, run.output());
    const results = JSON.parse(await readFile(join(dir, RESULTS_FILE), 'utf8')) as ClusterResults;
    assert.equal(results.format, 'gossip-learn-cluster-results');
    assert.equal(results.allExited, true);
    assert.equal(results.stopReason, 'signal');
    assert.equal(results.config.nodes, 3);
    assert.equal(results.nodes.length, 3);
    for (const node of results.nodes) {
      assert.match(node.peerId ?? '', /^12D3KooW/);
      assert.ok(node.series.length >= 2, `${node.name}: ${node.series.length} samples`);
      assert.ok((node.final.accuracy ?? 0) > CHANCE_ACCURACY + 0.2, `${node.name} accuracy ${node.final.accuracy}`);
      assert.ok(node.final.exchanges > 0, `${node.name} exchanged`);
      assert.ok(node.final.bytesSent > 0, `${node.name} sent bytes`);
      assert.deepEqual(node.exits, [{ t: node.exits[0]?.t, code: 0, signal: null, cause: 'stop' }], 'stopped gracefully');
    }
    assert.equal(results.final.evaluatedNodes, 3);
    // The yardstick: both baselines at the mean samples the daemons trained (steps x the daemon's batch size, 32).
    const baselines = results.baselines;
    assert.equal(baselines?.status, 'done', JSON.stringify(baselines));
    if (baselines?.status === 'done') {
      const steps = results.nodes.reduce((sum, n) => sum + (n.final.trainingSteps ?? 0), 0);
      assert.equal(baselines.daemonSamplesPerNode, Math.round((steps * 32) / 3));
      assert.equal(baselines.samplesPerNode, baselines.daemonSamplesPerNode);
      assert.deepEqual([baselines.training.batchSize, baselines.capped], [32, false]);
    }
    assert.match(run.output(), /^cluster: yardstick: the swarm \d+\.\d%; one model on all the data \d+\.\d%, each node alone \d+\.\d% \(worst \d+\.\d%\), at [\d,]+ samples per node$/m);
    for (const pid of await recordedPids(dir)) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
    const html = await readFile(join(dir, REPORT_FILES.html), 'utf8');
    assert.equal(html.match(/<svg /g)?.length, 3);
    assert.match(await readFile(join(dir, REPORT_FILES.accuracy), 'utf8'), /^<svg /);
  });

  it('leaves no daemon behind when the launcher is killed with SIGKILL', async () => {
    const run = runLauncher([...smallSwarm, '--nodes', '2', '--late-join', '0', '--duration', '10m', '--out', dir]);
    try {
      await waitFor(() => /2 nodes up/.test(run.output()), 90_000, 'the cluster to be up');
      const pids = await recordedPids(dir);
      assert.equal(pids.length, 2);
      assert.ok(pids.every(isAlive));
      run.child.kill('SIGKILL');
      await run.exited;
      // Daemons run with --parent-pid (the launcher's): they notice within a second, then stop gracefully.
      await waitFor(() => pids.every((pid) => !isAlive(pid)), 30_000, `daemons ${pids.join(', ')} to exit`);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
