/**
 * A node at its connection limit still lets a newcomer reach the swarm
 * (src/node/limits.ts ConnectionTrimmer): C's only bootstrap address is A,
 * which is full (one connection, to B). A lets C in for its grace period,
 * C learns B from A (pubsub peer discovery) and connects to it, and A
 * closes C once the grace is over: nobody is left at zero peers.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateDaemonConfig } from '../../src/node/config.ts';
import { Daemon } from '../../src/node/daemon.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';
import { waitFor } from '../helpers/process.ts';

describe('a newcomer whose only bootstrap is a node at its connection limit', function () {
  this.timeout(120_000);
  let root: string;
  const daemons: Daemon[] = [];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-newcomer-'));
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop(1000)));
    await rm(root, { recursive: true, force: true });
  });

  const start = async (name: string, nodeIndex: number, bootstrap: string[], maxConnections = 64) => {
    const daemon = new Daemon({
      config: validateDaemonConfig({
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap,
        swarm: 'newcomer',
        data: 'mnist',
        partition: 'iid',
        nodeIndex,
        numNodes: 3,
        model: 'mlp-small',
        backend: 'wasm',
        stateDir: join(root, name),
        exchangeIntervalMs: 200,
        announceIntervalMs: 300,
        evalIntervalMs: 1000,
        stepsPerInterval: 2,
        dutyCycle: 1,
        metricsPort: 0,
        distill: false,
        logLevel: 'silent',
      }),
      logger: pino({ level: 'silent' }),
      libp2p: { discoveryIntervalMs: 300 },
      limits: { maxStreamsPerPeer: 4, maxExchangesPerPeerPerMinute: 240, maxConnections, newcomerGraceMs: 4000 },
    });
    daemons.push(daemon);
    return { daemon, info: await daemon.start() };
  };
  const metrics = async (url: string): Promise<MetricsJson> => (await (await fetch(url)).json()) as MetricsJson;
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
