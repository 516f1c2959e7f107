/**
 * `npm run test:netns` (root): the same five-daemon swarm twice, for the same
 * time: on loopback, then across simulated NATs (test/netns/topology.ts): a
 * relay daemon (`--relay --relay-unlimited --announce`, also the DHT server
 * and the only bootstrap) on the public segment, and two daemons in each of
 * two homes behind masquerading routers. Passes when every home daemon finds
 * both daemons of the other home as providers of the swarm's rendezvous key
 * on the DHT, exchanges models with each of them, and the four home daemons'
 * mean accuracy is within 2 points of the four loopback ones'. Prints the
 * connections seen (direct, relayed, hole-punched, limited), the time to the
 * first exchange across the NATs and the share of direct and relayed
 * exchanges. Without root or namespaces it skips with one line.
 *
 * GOSSIP_LEARN_NETNS_SECONDS sets how long each swarm trains (default 60).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_PATH, DAEMON_NODE_FLAGS, daemonEnv, LISTEN_LINE, METRICS_LINE, PEER_ID_LINE, SupervisedChild } from '../../src/cluster/child-process.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';
import type { ReachPath } from '../../src/node/peer-reach.ts';
import { buildTopology, netnsUnavailable, removeStale, teardown, type Topology } from './topology.ts';

const TRAIN_SECONDS = Number(process.env.GOSSIP_LEARN_NETNS_SECONDS ?? 60);
if (!Number.isFinite(TRAIN_SECONDS) || TRAIN_SECONDS < 10) throw new Error(`GOSSIP_LEARN_NETNS_SECONDS must be a number of seconds, at least 10 (got '${process.env.GOSSIP_LEARN_NETNS_SECONDS}')`);
/** The limited-relay run only looks at connections and paths, not accuracy. */
const LIMITED_SECONDS = Math.min(30, TRAIN_SECONDS);
const START_TIMEOUT_MS = 120_000;
const POLL_MS = 1000;
const ACCURACY_TOLERANCE = 0.02;
const RELAY_PORT = 4000;
const POLLER = fileURLToPath(new URL('./poll-metrics.ts', import.meta.url));

/** Flags every daemon of both runs gets (the swarm differs only in where it runs). */
const commonArgs = (index: number, stateDir: string): string[] => [
  '--swarm', 'across-nats', '--data', 'mnist', '--model', 'mlp-small', '--partition', 'iid',
  '--num-nodes', '5', '--node-index', String(index), '--seed', '1', '--no-distill',
  '--exchange-interval', '300ms', '--eval-interval', '5s', '--checkpoint-interval', '10m',
  '--state-dir', stateDir, '--log-level', 'warn', '--exit-with-parent',
];

interface Daemon {
  name: string;
  /** 'pub', 'home1' or 'home2' (loopback: the same roles, all on 127.0.0.1). */
  site: 'pub' | 'home1' | 'home2';
  child: SupervisedChild;
  peerId: string;
  metricsUrl: string;
  /** The `listen:` lines it printed at start. */
  listen: string[];
  latest: MetricsJson | null;
}

interface SwarmResult {
  where: 'loopback' | 'netns' | 'netns-limited';
  homeAccuracies: number[];
  /** Per home daemon: seconds from the swarm's start to its first exchange with the other home (null: none). */
  firstCrossExchangeSeconds: Array<number | null>;
  /** Exchanges between the two homes, by path (the largest count each daemon reported per peer). */
  crossExchanges: Record<ReachPath, number>;
  holePunched: number;
  /** Per home daemon: its DHT providers include both daemons of the other home. */
  foundByDht: boolean[];
  /** Per home daemon: it exchanged with each daemon of the other home. */
  exchangedWithEach: boolean[];
  /** Per home daemon: its connection to the other daemon of its home is direct (LAN), not through the relay. */
  lanDirect: boolean[];
  /** Exchanges (all peers, both directions) that ran on relayed connections, summed over the home daemons. */
  relayedExchanges: number;
  seconds: number;
  rows: string[][];
  reachability: string[];
}

async function spawnDaemon(name: string, site: Daemon['site'], ns: string | null, args: string[], logDir: string): Promise<Daemon> {
  const node = [...DAEMON_NODE_FLAGS, CLI_PATH, 'daemon', ...args];
  const child = await SupervisedChild.spawn({
    command: ns === null ? process.execPath : 'ip',
    args: ns === null ? node : ['netns', 'exec', ns, process.execPath, ...node],
    env: daemonEnv(),
    logPath: join(logDir, `${name}.log`),
  });
  const listen: string[] = [];
  child.onLine((line, stream) => {
    const address = stream === 'stdout' ? LISTEN_LINE.exec(line)?.[1] : undefined;
    if (address !== undefined) listen.push(address);
  });
  try {
    const [peerLine, metricsLine] = await Promise.all([child.waitForLine(PEER_ID_LINE, START_TIMEOUT_MS), child.waitForLine(METRICS_LINE, START_TIMEOUT_MS)]);
    return { name, site, child, peerId: peerLine[1]!, metricsUrl: metricsLine[1]!, listen, latest: null };
  } catch (err) {
    await child.killHard();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${child.stderrTail()}`);
  }
}

/** Starts a poller in `ns` that prints the daemons' /metrics every second into their `latest`. */
async function pollInNamespace(ns: string, daemons: Daemon[]): Promise<SupervisedChild> {
  const poller = await SupervisedChild.spawn({ command: 'ip', args: ['netns', 'exec', ns, process.execPath, POLLER, ...daemons.map((d) => d.metricsUrl)] });
  poller.onLine((line, stream) => {
    if (stream !== 'stdout') return;
    const report = JSON.parse(line) as { url: string; metrics?: MetricsJson };
    if (report.metrics === undefined) return;
    for (const d of daemons) if (d.metricsUrl === report.url) d.latest = report.metrics;
  });
  return poller;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/**
 * Runs the swarm for TRAIN_SECONDS after its last daemon is up; `topology`
 * null = loopback. Every process it starts is in `children` (stopped by the caller too).
 */
async function runSwarm(topology: Topology | null, root: string, children: SupervisedChild[], relay: { unlimited: boolean; seconds: number }): Promise<SwarmResult> {
  const where = topology === null ? 'loopback' : relay.unlimited ? 'netns' : 'netns-limited';
  const dir = await mkdtemp(join(root, `${where}-`));
  const listenOf = (host: string | null, port: number): string => (host === null ? '/ip4/127.0.0.1/tcp/0' : `/ip6/${host}/tcp/${port}`);
  const metricsPort = (i: number): string => (topology === null ? '0' : String(47901 + i));
  const relayArgs = [...commonArgs(0, join(dir, 'relay')), '--relay', ...(relay.unlimited ? ['--relay-unlimited'] : []), '--metrics-port', metricsPort(0), '--listen', listenOf(topology?.relayAddress ?? null, RELAY_PORT)];
  if (topology !== null) relayArgs.push('--announce', listenOf(topology.relayAddress, RELAY_PORT));
  const relayDaemon = await spawnDaemon(`${where}-relay`, 'pub', topology?.pub ?? null, relayArgs, dir);
  children.push(relayDaemon.child);
  const relayAddress =
    topology === null
      ? relayDaemon.listen.find((address) => address.startsWith('/ip4/127.0.0.1/tcp/') && address.includes('/p2p/'))!
      : `${listenOf(topology.relayAddress, RELAY_PORT)}/p2p/${relayDaemon.peerId}`;
  const homes: Daemon[] = [];
  for (let i = 1; i <= 4; i++) {
    const site = i <= 2 ? 'home1' : 'home2';
    const home = topology?.homes[i <= 2 ? 0 : 1] ?? null;
    const args = [...commonArgs(i, join(dir, `d${i}`)), '--metrics-port', metricsPort(i), '--listen', listenOf(home?.hostAddress ?? null, RELAY_PORT + i), '--bootstrap', relayAddress];
    const d = await spawnDaemon(`${where}-${site}-d${i}`, site, home?.lan ?? null, args, dir);
    children.push(d.child);
    homes.push(d);
  }
  const all = [relayDaemon, ...homes];
  if (topology !== null) {
    children.push(await pollInNamespace(topology.pub, [relayDaemon]));
    children.push(await pollInNamespace(topology.homes[0].lan, homes.slice(0, 2)));
    children.push(await pollInNamespace(topology.homes[1].lan, homes.slice(2)));
  }
  const otherHome = (d: Daemon): Daemon[] => homes.filter((h) => h.site !== d.site);
  const startedAt = performance.now();
  const firstCross: Array<number | null> = homes.map(() => null);
  /** Largest exchange counts seen per (daemon, other-home peer): a peer drops out of reach.peers while disconnected. */
  const seen = new Map<string, Record<ReachPath, number>>();
  while (performance.now() - startedAt < relay.seconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (topology === null) {
      await Promise.all(all.map(async (d) => (d.latest = (await fetch(d.metricsUrl).then((r) => r.json()).catch(() => d.latest)) as MetricsJson | null)));
    }
    for (const d of all) if (!d.child.running) throw new Error(`${d.name} exited early:\n${d.child.stderrTail()}`);
    homes.forEach((d, i) => {
      for (const peer of otherHome(d)) {
        const counts = d.latest?.reach?.peers[peer.peerId]?.exchanges;
        if (counts === undefined) continue;
        const key = `${d.peerId}>${peer.peerId}`;
        const best = seen.get(key) ?? { direct: 0, relayed: 0, 'hole-punched': 0 };
        for (const path of Object.keys(best) as ReachPath[]) best[path] = Math.max(best[path], counts[path]);
        seen.set(key, best);
        if (firstCross[i] === null && counts.direct + counts.relayed + counts['hole-punched'] > 0) firstCross[i] = (performance.now() - startedAt) / 1000;
      }
    });
  }
  const final = all.map((d) => d.latest);
  const crossExchanges: Record<ReachPath, number> = { direct: 0, relayed: 0, 'hole-punched': 0 };
  for (const counts of seen.values()) for (const path of Object.keys(crossExchanges) as ReachPath[]) crossExchanges[path] += counts[path];
  const label = (id: string): string => all.find((d) => d.peerId === id)?.name.replace(`${where}-`, '') ?? id.slice(-6);
  const rows: string[][] = [];
  for (const d of all) {
    for (const [peer, entry] of Object.entries(d.latest?.reach?.peers ?? {})) {
      const e = entry.exchanges;
      rows.push([label(d.peerId), label(peer), entry.via, entry.limited ? 'yes' : 'no', String(e.direct), String(e.relayed), String(e['hole-punched'])]);
    }
  }
  return {
    where,
    homeAccuracies: homes.map((d) => d.latest?.eval.accuracy ?? 0),
    firstCrossExchangeSeconds: firstCross,
    crossExchanges,
    holePunched: homes.reduce((sum, d) => sum + (d.latest?.reach?.holePunched ?? 0), 0),
    foundByDht: homes.map((d) => otherHome(d).every((peer) => d.latest?.reach?.dht?.providers.includes(peer.peerId) === true)),
    exchangedWithEach: homes.map((d) => otherHome(d).every((peer) => Object.values(seen.get(`${d.peerId}>${peer.peerId}`) ?? {}).some((n) => n > 0))),
    lanDirect: homes.map((d) => {
      const mate = homes.find((h) => h.site === d.site && h !== d)!;
      return d.latest?.reach?.peers[mate.peerId]?.via === 'direct';
    }),
    relayedExchanges: homes.reduce((sum, d) => sum + (d.latest?.reach?.exchanges.relayed ?? 0), 0),
    seconds: relay.seconds,
    rows,
    reachability: all.map((d, i) => `${label(d.peerId)}: ${final[i]?.reach?.reachability ?? 'unknown'}`),
  };
}

function printResult(r: SwarmResult): void {
  const lines = [`${r.where}: home accuracies ${r.homeAccuracies.map(pct).join(' ')} (mean ${pct(mean(r.homeAccuracies))}) after ${r.seconds} s`];
  if (r.where !== 'loopback') {
    const total = r.crossExchanges.direct + r.crossExchanges.relayed + r.crossExchanges['hole-punched'];
    const share = (n: number): string => (total === 0 ? '-' : pct(n / total));
    lines.push(
      `  reachability (AutoNAT + reservations): ${r.reachability.join(', ')}`,
      `  home pairs on their LAN directly: ${r.lanDirect.map((ok, i) => `d${i + 1} ${ok ? 'yes' : 'no'}`).join(', ')}; exchanges on relayed connections (all peers): ${r.relayedExchanges}`,
      `  found through the DHT: ${r.foundByDht.map((ok, i) => `d${i + 1} ${ok ? 'yes' : 'NO'}`).join(', ')}`,
      `  first exchange across the NATs: ${r.firstCrossExchangeSeconds.map((s, i) => `d${i + 1} ${s === null ? 'never' : `${s.toFixed(1)} s`}`).join(', ')}`,
      `  exchanges across the NATs: ${total} (direct ${share(r.crossExchanges.direct)}, hole-punched ${share(r.crossExchanges['hole-punched'])}, relayed ${share(r.crossExchanges.relayed)}); hole-punched connections: ${r.holePunched}`,
      '  connections at the end (from -> to, via, limited, exchanges direct/relayed/hole-punched):',
      ...r.rows.map((row) => `    ${row[0]!.padEnd(10)} -> ${row[1]!.padEnd(10)} ${row[2]!.padEnd(13)} ${row[3]!.padEnd(4)} ${row[4]}/${row[5]}/${row[6]}`),
    );
  }
  console.log(lines.join('\n'));
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

describe('across NATs in network namespaces (npm run test:netns)', function () {
  this.timeout(START_TIMEOUT_MS * 4 + TRAIN_SECONDS * 4000);
  const children: SupervisedChild[] = [];
  let topology: Topology | null = null;
  let root = '';
  /** Last resort on a signal or exit: delete our namespaces synchronously (removeStale also catches a SIGKILLed run next time). */
  const emergencyTeardown = (): void => {
    for (const ns of topology?.namespaces ?? []) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };
  const onSignal = (): void => {
    emergencyTeardown();
    process.exit(130);
  };

  before(async function () {
    const unavailable = await netnsUnavailable();
    if (unavailable !== null) {
      console.log(`test:netns skipped: ${unavailable}`);
      this.skip();
    }
    const stale = await removeStale();
    if (stale.length > 0) console.log(`removed namespaces of an earlier run: ${stale.join(', ')}`);
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal).once('exit', emergencyTeardown);
    root = await mkdtemp(join(tmpdir(), 'gl-netns-'));
    topology = await buildTopology();
  });

  after(async () => {
    await Promise.all(children.map((c) => c.stop(10_000)));
    if (topology !== null) await teardown(topology);
    topology = null;
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', emergencyTeardown);
    // GOSSIP_LEARN_NETNS_KEEP=1 keeps the daemons' logs (run with DEBUG=libp2p:dcutr* to see hole punching).
    if (root !== '' && process.env.GOSSIP_LEARN_NETNS_KEEP === undefined) await rm(root, { recursive: true, force: true });
    else if (root !== '') console.log(`logs kept in ${root}`);
  });

  it('home daemons find each other through the DHT, exchange across the NATs and learn as well as on loopback', async () => {
    const loopback = await runSwarm(null, root, children, { unlimited: true, seconds: TRAIN_SECONDS });
    printResult(loopback);
    await Promise.all(children.splice(0).map((c) => c.stop(10_000)));
    const netns = await runSwarm(topology, root, children, { unlimited: true, seconds: TRAIN_SECONDS });
    printResult(netns);
    await Promise.all(children.splice(0).map((c) => c.stop(10_000)));
    const gap = mean(netns.homeAccuracies) - mean(loopback.homeAccuracies);
    console.log(`mean accuracy across NATs minus loopback: ${(100 * gap).toFixed(2)} points (tolerance ${100 * ACCURACY_TOLERANCE})`);
    assert.deepEqual(netns.foundByDht, [true, true, true, true], 'every home daemon finds both daemons of the other home through the DHT');
    assert.deepEqual(netns.exchangedWithEach, [true, true, true, true], 'every home daemon exchanges with both daemons of the other home');
    assert.ok(Math.abs(gap) <= ACCURACY_TOLERANCE, `mean accuracy ${pct(mean(netns.homeAccuracies))} across NATs vs ${pct(mean(loopback.homeAccuracies))} on loopback`);
    assert.deepEqual(netns.lanDirect, [true, true, true, true], 'daemons of one home reach each other directly, not through the relay');
  });

  it('through a relay with the default limits, model bytes only cross the NATs on hole-punched connections', async () => {
    const limited = await runSwarm(topology, root, children, { unlimited: false, seconds: LIMITED_SECONDS });
    printResult(limited);
    assert.deepEqual(limited.foundByDht, [true, true, true, true], 'every home daemon finds both daemons of the other home through the DHT');
    assert.equal(limited.relayedExchanges, 0, 'no exchange ran on a relay-limited connection');
    assert.equal(limited.crossExchanges.relayed, 0);
    assert.equal(limited.crossExchanges.direct, 0, 'no plain direct connection can cross two NATs');
    assert.deepEqual(limited.lanDirect, [true, true, true, true]);
  });
});
