/** Synthetic cluster runs for unit tests: seeded, no daemon needed. */
import type { MetricsSnapshot } from '../../src/cluster/metrics-client.ts';
import { parseClusterArgs } from '../../src/cluster/options.ts';
import { buildResults, NodeTracker, type ClusterEvent, type ClusterResults } from '../../src/cluster/results.ts';

export function snapshot(overrides: Partial<MetricsSnapshot> = {}): MetricsSnapshot {
  return {
    peerId: null,
    codec: null,
    addresses: [],
    accuracy: null,
    loss: null,
    evalAt: null,
    age: null,
    samplesSeen: null,
    peersConnected: null,
    exchangesInitiated: null,
    exchangesAccepted: null,
    exchangesFailed: null,
    exchangesRejected: null,
    merged: null,
    bytesSent: null,
    bytesReceived: null,
    trainingSteps: null,
    distill: null,
    consensusDistance: null,
    bytesSentPerSecond: null,
    cpuShareTraining: null,
    joules: null,
    ...overrides,
  };
}

/** Three nodes over 60 s; node-2 joins late at 20 s, node-1 is killed at 30 s and restarts. */
export function syntheticResults(): ClusterResults {
  const config = parseClusterArgs(['--nodes', '3', '--duration', '60', '--late-join', '1', '--out', '/tmp/unused', '--churn', '30'], new Date(0));
  if (config === null) throw new Error('unreachable');
  const startMs = Date.parse('2026-01-01T00:00:00Z');
  const trackers = [
    new NodeTracker('node-0', 0, 'initial', startMs),
    new NodeTracker('node-1', 1, 'initial', startMs),
    new NodeTracker('node-2', 2, 'late', startMs),
  ];
  const events: ClusterEvent[] = [
    { t: 0, kind: 'start', node: 'node-0' },
    { t: 1, kind: 'start', node: 'node-1' },
    { t: 20, kind: 'start', node: 'node-2' },
    { t: 30, kind: 'kill', node: 'node-1' },
    { t: 33, kind: 'restart', node: 'node-1' },
  ];
  trackers.forEach((tr, i) => {
    tr.peerId = `12D3KooWpeer${i}`;
    tr.readyAt = i === 2 ? 21 : i;
    tr.pids.push(1000 + i);
  });
  for (let t = 2; t <= 60; t += 2) {
    trackers.forEach((tr, i) => {
      if (i === 2 && t < 22) return;
      if (i === 1 && t > 30 && t < 34) return;
      if (i === 1 && t === 34) {
        tr.restarts += 1;
        tr.newIncarnation();
        tr.pids.push(2001);
      }
      const local = i === 1 && t >= 34 ? t - 34 : t; // node-1's counters restart from 0
      tr.observe(t, snapshot({
        codec: 'q8+deflate',
        // Evaluations every 4 s, polled every 2 s: each one is seen twice.
        accuracy: t < 6 ? null : Math.min(0.95, 0.1 + Math.floor(t / 4) * 0.048 + i * 0.01),
        loss: t < 6 ? null : 2 / (1 + Math.floor(t / 4)),
        evalAt: t < 6 ? null : new Date(startMs + Math.floor(t / 4) * 4000 - 500).toISOString(),
        age: local * 10,
        peersConnected: 2,
        exchangesInitiated: local,
        exchangesAccepted: local,
        merged: local,
        bytesSent: local * 1000,
        bytesReceived: local * 900,
        trainingSteps: local * 5,
        // The key figures of the swarm page: the pair converges, each process uses 2 J per second.
        consensusDistance: t < 6 ? null : 0.5 / (t / 2),
        bytesSentPerSecond: 500,
        cpuShareTraining: 0.4 + i * 0.05,
        joules: local * 2,
      }));
    });
  }
  if (trackers[2]) trackers[2].distill = { teacher: '12D3KooWpeer0', accuracyBefore: 0.1, accuracyAfter: 0.7, seconds: 2, bytes: 4096, rejected: 0 };
  trackers[1]?.exits.push({ t: 30, code: null, signal: 'SIGKILL', cause: 'churn' });
  return buildResults({
    config,
    startedAt: new Date('2026-01-01T00:00:00Z'),
    endedAt: new Date('2026-01-01T00:01:05Z'),
    stopReason: 'duration',
    allExited: true,
    nodes: trackers,
    events,
  });
}
