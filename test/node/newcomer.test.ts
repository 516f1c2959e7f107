/**
 * A node at its connection limit still lets a newcomer reach the swarm
 * (src/node/limits.ts ConnectionTrimmer): C's only bootstrap address is A,
 * which is full (one connection, to B). A lets C in for its grace period,
 * C learns B from A (pubsub peer discovery) and connects to it, and A
 * closes C once the grace is over: nobody is left at zero peers.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateDaemonConfig } from '../../src/node/config.ts';
import { Daemon } from '../../src/node/daemon.ts';
import { waitFor } from '../helpers/process.ts';
import { daemonSuite, fastDaemonConfig, fetchMetrics } from '../helpers/daemons.ts';

describe('a newcomer whose only bootstrap is a node at its connection limit', function () {
  this.timeout(120_000);
  const suite = daemonSuite('gl-newcomer-');
  const { daemons } = suite;

  const start = async (name: string, nodeIndex: number, bootstrap: string[], maxConnections = 64) => {
    const daemon = new Daemon({
      config: validateDaemonConfig(
        fastDaemonConfig(join(suite.root, name), { bootstrap, swarm: 'newcomer', nodeIndex, numNodes: 3, exchangeIntervalMs: 200, announceIntervalMs: 300, evalIntervalMs: 1000, stepsPerInterval: 2 }),
      ),
      logger: pino({ level: 'silent' }),
      libp2p: { discoveryIntervalMs: 300 },
      limits: { maxStreamsPerPeer: 4, maxExchangesPerPeerPerMinute: 240, maxConnections, newcomerGraceMs: 4000 },
    });
    daemons.push(daemon);
    return { daemon, info: await daemon.start() };
  };
  const metrics = fetchMetrics;
  const peersOf = (d: Daemon): string[] => d.libp2p!.getPeers().map((p) => p.toString());

  it('lets it in long enough to find the rest of the swarm, then trims back to its limit', async () => {
    const a = await start('a', 0, [], 1);
    const b = await start('b', 1, a.info.addresses);
    await waitFor(() => peersOf(a.daemon).includes(b.info.peerId), 30_000, 'B to connect to A');
    const c = await start('c', 2, a.info.addresses);
    await waitFor(() => peersOf(c.daemon).includes(b.info.peerId), 30_000, 'C to find B through A');
    // A trims the newcomer once its grace is over (counted as a connection limit hit)...
    await waitFor(async () => (await metrics(a.info.metricsUrl)).limits.hits.connections >= 1, 30_000, 'A to close the newcomer past its limit');
    // ...and C, connected to B, exchanges with the swarm.
    const before = (await metrics(c.info.metricsUrl)).exchange.merged;
    await waitFor(async () => (await metrics(c.info.metricsUrl)).exchange.merged > before + 2, 30_000, 'C to merge with B');
    assert.ok(peersOf(c.daemon).length >= 1);
  });
});
