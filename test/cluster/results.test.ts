import { strict as assert } from 'node:assert';
import { describeJoin, MAX_SAMPLES_PER_NODE, NodeTracker, summarize } from '../../src/cluster/results.ts';
import { snapshot, syntheticResults } from './synthetic.ts';

describe('NodeTracker', () => {
  it('keeps counters cumulative when a restarted daemon counts from zero again', () => {
    const tracker = new NodeTracker('node-0', 0, 'initial');
    tracker.observe(1, snapshot({ bytesSent: 500, exchangesInitiated: 3, exchangesAccepted: 2 }));
    tracker.observe(2, snapshot({ bytesSent: 800, exchangesInitiated: 4, exchangesAccepted: 2 }));
    // A new process, not announced: the drop itself tells.
    tracker.observe(3, snapshot({ bytesSent: 100, exchangesInitiated: 1, exchangesAccepted: 0 }));
    assert.deepEqual(tracker.series.map((s) => [s.bytesSent, s.exchanges]), [[500, 5], [800, 6], [900, 7]]);
  });

  it('starts a new incarnation from the last counters even when the new ones are not smaller', () => {
    const tracker = new NodeTracker('node-0', 0, 'initial');
    tracker.observe(1, snapshot({ bytesSent: 100 }));
    tracker.newIncarnation();
    tracker.observe(2, snapshot({ bytesSent: 150 }));
    assert.equal(tracker.latest?.bytesSent, 250);
  });

  it('reports the last known accuracy as final even if later polls had none', () => {
    const tracker = new NodeTracker('node-0', 0, 'initial');
    tracker.observe(1, snapshot({ accuracy: 0.5 }));
    tracker.observe(2, snapshot({ accuracy: null }));
    assert.equal(tracker.toResult().final.accuracy, 0.5);
  });

  it('bounds its series by halving the resolution', () => {
    const tracker = new NodeTracker('node-0', 0, 'initial');
    const total = MAX_SAMPLES_PER_NODE * 3;
    for (let i = 1; i <= total; i++) tracker.observe(i, snapshot({ bytesSent: i }));
    assert.ok(tracker.series.length <= MAX_SAMPLES_PER_NODE);
    assert.ok(tracker.series.length > MAX_SAMPLES_PER_NODE / 4);
    assert.equal(tracker.latest?.bytesSent, total, 'the newest point is always kept');
    const times = tracker.series.map((s) => s.t);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'still in time order');
  });
});

describe('cluster results', () => {
  it('has config, per-node series and final figures', () => {
    const results = syntheticResults();
    assert.equal(results.format, 'gossip-learn-cluster-results');
    assert.equal(results.version, 1);
    assert.equal(results.config.nodes, 3);
    assert.equal(results.wallSeconds, 65);
    assert.deepEqual(results.nodes.map((n) => [n.name, n.role]), [['node-0', 'initial'], ['node-1', 'initial'], ['node-2', 'late']]);
    const node1 = results.nodes[1];
    assert.ok(node1);
    assert.equal(node1.restarts, 1);
    assert.deepEqual(node1.pids, [1001, 2001]);
    // 30 s of bytes before the kill, 26 s after: 30000 + 26000.
    assert.equal(node1.final.bytesSent, 56000);
    // Training steps, which the baselines' budget comes from, are cumulative the same way.
    assert.equal(node1.final.trainingSteps, 56 * 5);
    for (const node of results.nodes) {
      assert.ok(node.series.length > 0);
      for (const key of ['t', 'accuracy', 'loss', 'age', 'samplesSeen', 'peers', 'exchanges', 'merged', 'bytesSent', 'bytesReceived', 'trainingSteps']) {
        assert.ok(key in (node.series[0] as object), `series point has ${key}`);
      }
    }
    assert.equal(results.final.evaluatedNodes, 3);
    assert.equal(results.final.totalBytesSent, 60000 + 56000 + 60000);
  });

  it('summarizes mean, worst and best accuracy over the nodes that reported one', () => {
    const results = syntheticResults();
    const f = summarize(results.nodes);
    const finals = results.nodes.map((n) => n.final.accuracy as number);
    assert.equal(f.worstAccuracy, Math.min(...finals));
    assert.equal(f.bestAccuracy, Math.max(...finals));
    assert.ok(Math.abs((f.meanAccuracy as number) - finals.reduce((a, b) => a + b) / 3) < 1e-4);
    assert.deepEqual(summarize([]), {
      nodes: 0, evaluatedNodes: 0, meanAccuracy: null, worstAccuracy: null, bestAccuracy: null,
      totalBytesSent: 0, meanBytesSentPerNode: 0, totalExchanges: 0,
    });
  });

  it('survives a JSON round trip unchanged', () => {
    const results = syntheticResults();
    assert.deepEqual(JSON.parse(JSON.stringify(results)), results);
  });
});

describe('describeJoin', () => {
  it('says whom a late joiner distilled from and what it gained', () => {
    const distill = { teacher: '12D3KooWCpWhaNQTNeYBN9sesjXuMkpswDxr1Bi7GfoKpA3XMC2m', accuracyBefore: 0.0965, accuracyAfter: 0.819, seconds: 6.42, bytes: 103255, rejected: 0 };
    assert.equal(describeJoin(distill), 'distilled from 12D3KooWCpWhaNQT… 9.7% → 81.9% in 6.4 s (100.8 KiB)');
  });

  it('is null for a node that did not join from a teacher', () => {
    assert.equal(describeJoin(null), null);
    assert.equal(describeJoin({ teacher: null, accuracyBefore: null }), null);
  });
});
