import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateDaemonConfig, type DaemonConfig } from '../../src/node/config.ts';
import { CHECKPOINT_FILE } from '../../src/node/constants.ts';
import { Daemon } from '../../src/node/daemon.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';
import { PROMETHEUS_PATH } from '../../src/node/prometheus.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { allFinite } from '../../src/train/merge.ts';
import { daemonSuite, fastDaemonConfig } from '../helpers/daemons.ts';

async function getMetrics(url: string): Promise<MetricsJson> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return (await res.json()) as MetricsJson;
}

/** Polls `check` (no fixed sleeps) until it holds or the deadline passes. */
async function until(check: () => Promise<boolean>, what: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function nodeConfig(stateDir: string, nodeIndex: number, bootstrap: string[], learningRate: number): DaemonConfig {
  return validateDaemonConfig(
    fastDaemonConfig(stateDir, { bootstrap, swarm: 'healing', nodeIndex, numNodes: 3, seed: 5, checkpointIntervalMs: 300, optimizer: 'sgd', learningRate }),
  );
}

describe('self-healing: three daemons on 127.0.0.1, one started with --learning-rate 1000000', function () {
  this.timeout(240_000);
  const suite = daemonSuite('gl-healing-');
  const { daemons } = suite;

  it('the diverging node rolls back, lowers its rate and recovers; the other two keep improving; no checkpoint holds NaN/Inf', async () => {
    const make = (name: string, index: number, bootstrap: string[], rate: number): Daemon => {
      const d = new Daemon({ config: nodeConfig(join(suite.root, name), index, bootstrap, rate), logger: pino({ level: 'silent' }), libp2p: { discoveryIntervalMs: 300 } });
      daemons.push(d);
      return d;
    };
    const a = make('a', 0, [], 0.1);
    const infoA = await a.start();
    const b = make('b', 1, infoA.addresses, 0.1);
    const bad = make('bad', 2, infoA.addresses, 1_000_000);
    const [infoB, infoBad] = await Promise.all([b.start(), bad.start()]);
    // Always present in the JSON, a number from the start.
    assert.equal(typeof (await getMetrics(infoBad.metricsUrl)).model.rollbacks, 'number');

    let seen: MetricsJson[] = [];
    const describe = () => JSON.stringify(seen.map((m) => ({ accuracy: m.eval.accuracy, rollbacks: m.model.rollbacks, merged: m.exchange.merged })));
    // The bad node diverges and is rolled back at least once.
    await until(async () => (await getMetrics(infoBad.metricsUrl)).model.rollbacks > 0, () => 'a rollback on the node with learning rate 1e6', 60_000);
    // Then everyone learns, the bad node included, and the healthy ones keep merging with it.
    const healthyAtStart = await Promise.all([infoA, infoB].map((i) => getMetrics(i.metricsUrl)));
    await until(
      async () => {
        seen = await Promise.all([infoA, infoB, infoBad].map((i) => getMetrics(i.metricsUrl)));
        return seen.every((m) => m.eval.accuracy !== null && m.eval.accuracy > 0.5) && seen.every((m, k) => k === 2 || m.exchange.merged > healthyAtStart[k]!.exchange.merged + 4);
      },
      () => `every node above 50% accuracy and merging (last: ${describe()})`,
      150_000,
    );
    const healed = seen[2]!;
    assert.ok(healed.model.rollbacks > 0);
    assert.deepEqual(seen.slice(0, 2).map((m) => m.model.rollbacks), [0, 0], 'the healthy nodes never roll back');
    assert.ok(Number.isFinite(healed.eval.loss!), `loss ${healed.eval.loss}`);

    // The Prometheus twin is there.
    const text = await (await fetch(infoBad.metricsUrl.replace(/\/metrics$/, PROMETHEUS_PATH))).text();
    assert.match(text, /^gossip_learn_model_rollbacks_total [1-9]\d*$/m);

    await bad.stop();
    const checkpoint = await loadCheckpoint(join(suite.root, 'bad', CHECKPOINT_FILE));
    assert.ok(allFinite(checkpoint.params), 'the final checkpoint is finite');
  });
});
