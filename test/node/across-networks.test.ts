/**
 * Across networks on loopback (src/node/dht-discovery.ts, src/node/peer-reach.ts,
 * src/node/libp2p.ts): a relay daemon R (`--relay`, the DHT server) and two
 * daemons A and B whose only bootstrap is R and whose connection gater
 * refuses every direct dial but to R, as if A and B sat behind two NATs.
 * A and B must find each other as providers of the swarm's rendezvous key on
 * the DHT, connect through R, and exchange models through R only when R is
 * run with `--relay-unlimited`; through a limited relay they never do.
 * Hole punching cannot happen on loopback (DCUtR only dials public
 * addresses): `npm run test:netns` measures it across namespaced NATs.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Connection, ConnectionGater } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { pino } from 'pino';
import { checkDaemonSpecs, ConfigError, parseDaemonFlags, validateDaemonConfig } from '../../src/node/config.ts';
import { Daemon } from '../../src/node/daemon.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';
import { isRelayed, PeerReach } from '../../src/node/peer-reach.ts';
import { DirectUpgrade } from '../../src/node/direct-upgrade.ts';
import { createLibp2pNode } from '../../src/node/libp2p.ts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { waitFor } from '../helpers/process.ts';
import { daemonSuite, fastDaemonConfig, fetchMetrics } from '../helpers/daemons.ts';

/** Refuses direct dials to any TCP port but the relay's (circuit addresses pass: they run over the relay connection). */
function onlyThroughRelay(relayPort: () => string | null): ConnectionGater {
  return {
    denyDialMultiaddr: (address: Multiaddr) => {
      if (isRelayed(address)) return false;
      const port = address.getComponents().find((c) => c.name === 'tcp')?.value;
      return port !== relayPort();
    },
  };
}

describe('across networks on loopback: DHT discovery and circuit relays', function () {
  this.timeout(180_000);
  const suite = daemonSuite('gl-across-');

  const start = async (name: string, nodeIndex: number, options: { bootstrap?: string[]; relay?: boolean; relayUnlimited?: boolean; gater?: ConnectionGater }) => {
    const daemon = new Daemon({
      config: validateDaemonConfig(
        fastDaemonConfig(join(suite.root, name), {
          swarm: `across-${name.slice(0, 1)}`,
          bootstrap: options.bootstrap ?? [],
          relay: options.relay ?? false,
          relayUnlimited: options.relayUnlimited ?? false,
          nodeIndex,
          numNodes: 3,
          exchangeIntervalMs: 200,
          announceIntervalMs: 300,
          evalIntervalMs: 1000,
          stepsPerInterval: 2,
        }),
      ),
      logger: pino({ level: 'silent' }),
      // Pubsub discovery slowed down, so that the DHT is what brings A and B together.
      libp2p: { discoveryIntervalMs: 60_000, ...(options.gater === undefined ? {} : { connectionGater: options.gater }) },
      dhtIntervalMs: 500,
    });
    suite.daemons.push(daemon);
    const info = await daemon.start();
    metricsUrls.push(info.metricsUrl);
    return { daemon, info };
  };
  const metricsUrls: string[] = [];

  /** R, then A and B behind the gater; returns their metrics readers. */
  const triangle = async (tag: string, relayUnlimited: boolean) => {
    const r = await start(`${tag}-r`, 0, { relay: true, relayUnlimited });
    const relayPort = r.info.addresses[0]!.split('/tcp/')[1]!.split('/')[0]!;
    const gater = onlyThroughRelay(() => relayPort);
    const a = await start(`${tag}-a`, 1, { bootstrap: r.info.addresses, gater });
    const b = await start(`${tag}-b`, 2, { bootstrap: r.info.addresses, gater });
    return { r, a, b };
  };

  const reachOf = async (url: string): Promise<NonNullable<MetricsJson['reach']>> => (await fetchMetrics(url)).reach!;

  it('A and B find each other through the DHT and connect through the relay; a limited relay carries no model bytes', async () => {
    const { r, a, b } = await triangle('l', false);
    await waitFor(async () => (await reachOf(a.info.metricsUrl)).dht?.providers.includes(b.info.peerId) === true, 60_000, 'A to find B as a DHT provider');
    await waitFor(async () => (await reachOf(b.info.metricsUrl)).dht?.providers.includes(a.info.peerId) === true, 60_000, 'B to find A as a DHT provider');
    await waitFor(async () => (await reachOf(a.info.metricsUrl)).peers[b.info.peerId] !== undefined, 60_000, 'A to connect to B');
    const reachA = await reachOf(a.info.metricsUrl);
    assert.equal(reachA.reachability, 'relayed', 'A is reachable only through its relay slot');
    assert.ok(reachA.relayAddresses.some((address) => address.includes(r.info.peerId)), 'A holds a reservation on R');
    assert.deepEqual({ via: reachA.peers[b.info.peerId]!.via, limited: reachA.peers[b.info.peerId]!.limited }, { via: 'relayed', limited: true });
    assert.equal(reachA.peers[r.info.peerId]?.via, 'direct');
    const reachR = await reachOf(r.info.metricsUrl);
    assert.deepEqual(reachR.relay, { serving: true, unlimited: false });
    // R listens on 127.0.0.1 only: no peer of another network could dial it, which is what `private` says.
    assert.equal(reachR.reachability, 'private');
    assert.deepEqual(reachR.publicAddresses, []);
    // A and R exchange directly; A and B, only relay-limited to each other, never do.
    await waitFor(async () => ((await reachOf(a.info.metricsUrl)).peers[r.info.peerId]?.exchanges.direct ?? 0) >= 3, 60_000, 'A to exchange with R');
    const after = await reachOf(a.info.metricsUrl);
    assert.deepEqual(after.peers[b.info.peerId]?.exchanges, { direct: 0, relayed: 0, 'hole-punched': 0 });
    assert.equal(after.exchanges.relayed, 0);
  });

  it('exchanges models through a --relay-unlimited relay', async () => {
    const { a, b } = await triangle('u', true);
    await waitFor(async () => ((await reachOf(a.info.metricsUrl)).peers[b.info.peerId]?.exchanges.relayed ?? 0) >= 2, 90_000, 'A and B to exchange through R');
    const reachA = await reachOf(a.info.metricsUrl);
    assert.deepEqual({ via: reachA.peers[b.info.peerId]!.via, limited: reachA.peers[b.info.peerId]!.limited }, { via: 'relayed', limited: false });
    assert.ok(reachA.exchanges.relayed >= 2);
    assert.equal(reachA.holePunched, 0, 'no direct connection to B was possible');
  });

  it('keeps the Prometheus text of a relay and of a relayed node clean under promtool (kad-dht, relay, AutoNAT, DCUtR metrics included)', async function () {
    if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0) this.skip();
    for (const metricsUrl of metricsUrls) {
      const url = `${metricsUrl}/prometheus`;
      const text = await (await fetch(url)).text();
      assert.match(text, /gossip_learn_reach_exchanges_total\{path="relayed"\}/);
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(check.status, 0, `${url}: ${check.stdout}${check.stderr}`);
    }
  });
});

describe('across-networks flags', () => {
  it('refuses --relay-unlimited without --relay', () => {
    const { values } = parseDaemonFlags(['--relay-unlimited']);
    assert.throws(() => validateDaemonConfig(values), (err: unknown) => err instanceof ConfigError && err.reason === 'bad-value' && err.message === '--relay-unlimited: only applies to a relay: add --relay');
  });

  it('refuses an --announce that is not a multiaddr, naming the flag and the multiaddr to write', () => {
    const refusal = (args: string[]): string => {
      const config = validateDaemonConfig(parseDaemonFlags(args).values);
      try {
        checkDaemonSpecs(config);
      } catch (err) {
        assert.ok(err instanceof ConfigError && err.reason === 'bad-value');
        return err.message;
      }
      return 'accepted';
    };
    assert.equal(refusal(['--announce', '203.0.113.7:47800']), "--announce: '203.0.113.7:47800' is not a multiaddr (did you mean /ip4/203.0.113.7/tcp/47800?)");
    assert.equal(refusal(['--bootstrap', 'relay.example.org:47800']), "--bootstrap: 'relay.example.org:47800' is not a multiaddr (did you mean /dns/relay.example.org/tcp/47800?)");
    assert.equal(refusal(['--announce', 'garbage']), "--announce: 'garbage' is not a multiaddr (write e.g. /ip4/127.0.0.1/tcp/47800)");
    assert.equal(refusal(['--listen', '/ip4/1.2.3/tcp/47800']), "--listen: '/ip4/1.2.3/tcp/47800' is not a multiaddr (Invalid IPv4 address \"1.2.3\")");
    // Parses, but no TCP: the daemon would advertise (or dial) an address nobody can use.
    assert.equal(refusal(['--announce', '/ip4/203.0.113.7']), "--announce: '/ip4/203.0.113.7' has no TCP port, the only transport (write e.g. /ip4/203.0.113.7/tcp/47800)");
    assert.equal(refusal(['--bootstrap', '/ip4/127.0.0.1/p2p/12D3KooWDFyW6DyFXX2GLpHGPfzvXQftr1CZGYXrr4euQ6xAQsiR']), "--bootstrap: '/ip4/127.0.0.1/p2p/12D3KooWDFyW6DyFXX2GLpHGPfzvXQftr1CZGYXrr4euQ6xAQsiR' has no TCP port, the only transport (write e.g. /ip4/127.0.0.1/tcp/47800/p2p/12D3KooWDFyW6DyFXX2GLpHGPfzvXQftr1CZGYXrr4euQ6xAQsiR)");
    assert.equal(refusal(['--listen', '/ip6/::1/udp/47800/quic-v1']), "--listen: '/ip6/::1/udp/47800/quic-v1' has no TCP port, the only transport (write e.g. /ip6/::1/tcp/47800)");
    assert.equal(refusal(['--bootstrap', '/ip4/203.0.113.7/tcp/47800/p2p/12D3KooWDFyW6DyFXX2GLpHGPfzvXQftr1CZGYXrr4euQ6xAQsiR/p2p-circuit']), 'accepted');
  });

  it('takes --announce repeatedly, --relay and --relay-unlimited', () => {
    const config = validateDaemonConfig(parseDaemonFlags(['--announce', '/ip4/203.0.113.7/tcp/47800', '--announce', '/ip6/2001:db8::7/tcp/47800', '--relay', '--relay-unlimited']).values);
    checkDaemonSpecs(config);
    assert.deepEqual([config.announce, config.relay, config.relayUnlimited], [['/ip4/203.0.113.7/tcp/47800', '/ip6/2001:db8::7/tcp/47800'], true, true]);
  });
});

describe('PeerReach', () => {
  const peer = (id: string) => ({ toString: () => id }) as unknown as Connection['remotePeer'];
  const connection = (id: string, address: string, limited = false) =>
    ({ remotePeer: peer(id), remoteAddr: multiaddr(address), status: 'open', limits: limited ? { bytes: 1000n } : undefined }) as unknown as Connection;

  /** A node stand-in: connections by peer, and the connection:open listener PeerReach registers. */
  const fakeNode = () => {
    const open: Connection[] = [];
    let listener: ((evt: CustomEvent<Connection>) => void) | null = null;
    return {
      open,
      getConnections: (id?: { toString(): string }) => open.filter((c) => id === undefined || c.remotePeer.toString() === id.toString()),
      getMultiaddrs: () => [multiaddr('/ip4/127.0.0.1/tcp/1/p2p/12D3KooWRelay/p2p-circuit')],
      addEventListener: (_: string, f: (evt: CustomEvent<Connection>) => void) => (listener = f),
      removeEventListener: () => (listener = null),
      connect(c: Connection) {
        open.push(c);
        listener?.(new CustomEvent('connection:open', { detail: c }));
      },
    };
  };

  it('calls a direct connection opened while a relayed one to the peer is open hole-punched, and counts exchanges by path', () => {
    const node = fakeNode();
    const reach = new PeerReach();
    reach.bind(node as unknown as Parameters<PeerReach['bind']>[0]);
    const relayed = connection('b', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWRelay/p2p-circuit', true);
    const direct = connection('c', '/ip4/127.0.0.1/tcp/2');
    node.connect(relayed);
    node.connect(direct);
    const punched = connection('b', '/ip6/3fff::9/tcp/3');
    node.connect(punched);
    assert.deepEqual([reach.pathOf(relayed), reach.pathOf(direct), reach.pathOf(punched)], ['relayed', 'direct', 'hole-punched']);
    reach.countExchange(punched);
    reach.countExchange(direct);
    reach.countExchange(direct);
    const snapshot = reach.snapshot(node as unknown as Parameters<PeerReach['snapshot']>[0]);
    assert.deepEqual(snapshot.exchanges, { direct: 2, relayed: 0, 'hole-punched': 1 });
    assert.deepEqual(snapshot.connections, { direct: 1, relayed: 1, 'hole-punched': 1 });
    assert.deepEqual(snapshot.peers.b, { via: 'hole-punched', limited: false, exchanges: { direct: 0, relayed: 0, 'hole-punched': 1 } });
    assert.equal(snapshot.holePunched, 1);
    assert.equal(snapshot.reachability, 'relayed');
  });

  it('calls a direct connection to a private address a direct one even while a relayed one is open (DCUtR dials public addresses only)', () => {
    const node = fakeNode();
    const reach = new PeerReach();
    reach.bind(node as unknown as Parameters<PeerReach['bind']>[0]);
    node.connect(connection('b', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWRelay/p2p-circuit', true));
    const lan = connection('b', '/ip6/fd01::11/tcp/4001');
    node.connect(lan);
    assert.equal(reach.pathOf(lan), 'direct');
    assert.equal(reach.holePunched, 0);
  });

  it('marks a peer reached only through a limited relay as limited', () => {
    const node = fakeNode();
    const reach = new PeerReach();
    reach.bind(node as unknown as Parameters<PeerReach['bind']>[0]);
    node.connect(connection('b', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWRelay/p2p-circuit', true));
    const snapshot = reach.snapshot(node as unknown as Parameters<PeerReach['snapshot']>[0]);
    assert.deepEqual(snapshot.peers.b, { via: 'relayed', limited: true, exchanges: { direct: 0, relayed: 0, 'hole-punched': 0 } });
  });
});

describe('DirectUpgrade', function () {
  this.timeout(60_000);
  const nodes: Array<Awaited<ReturnType<typeof createLibp2pNode>>> = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('replaces a relayed connection by a direct one when a plain dial to the peer works, and calls it direct', async () => {
    const make = async (relay: boolean) => {
      const node = await createLibp2pNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], swarm: 'upgrade', mdns: false, relay: relay ? { unlimited: false } : null });
      nodes.push(node);
      await node.start();
      return node;
    };
    const r = await make(true);
    const a = await make(false);
    const b = await make(false);
    await a.dial(r.getMultiaddrs()[0]!);
    await b.dial(r.getMultiaddrs()[0]!);
    await waitFor(() => b.getMultiaddrs().some(isRelayed), 20_000, 'B to reserve a slot on R');
    const circuit = b.getMultiaddrs().find(isRelayed)!;
    const relayed = await a.dial(circuit);
    assert.ok(isRelayed(relayed.remoteAddr));
    // A learns B's direct address as a DHT record or an announcement would carry it.
    await a.peerStore.merge(b.peerId, { multiaddrs: b.getMultiaddrs().filter((m) => !isRelayed(m)) });
    const reach = new PeerReach();
    reach.bind(a);
    const upgrade = new DirectUpgrade({ reach });
    const silent = pino({ level: 'silent' });
    await upgrade.start({ node: a, logger: silent, signal: new AbortController().signal } as unknown as Parameters<DirectUpgrade['start']>[0]);
    assert.equal(await upgrade.round(), 1);
    await waitFor(() => a.getConnections(b.peerId).length === 1 && !isRelayed(a.getConnections(b.peerId)[0]!.remoteAddr), 20_000, 'the relayed connection to be replaced');
    assert.deepEqual(upgrade.stats, { attempts: 1, upgraded: 1 });
    assert.equal(reach.pathOf(a.getConnections(b.peerId)[0]!), 'direct');
    assert.equal(await upgrade.round(), 0, 'nothing left to upgrade');
    await upgrade.stop();
    reach.unbind();
  });
});
