/**
 * A small internet in network namespaces for `npm run test:netns`: a
 * "public" segment (a bridge) with the relay host on it, and two homes, each
 * a LAN namespace behind its own router namespace that masquerades (NAT66,
 * nftables) what leaves through its WAN port.
 *
 *   <p>pub   br0 3fff:0:0:1::1/64 and the relay host 3fff:0:0:1::10; ports w1, w2 on br0
 *   <p>rt1   wan 3fff:0:0:1::21/64 (peer of w1)  lan fd01::1/64   forwarding, masquerade on wan
 *   <p>h1    eth fd01::11/64, default via fd01::1 (two daemons)
 *   <p>rt2   wan 3fff:0:0:1::22/64 (peer of w2)  lan fd02::1/64
 *   <p>h2    eth fd02::11/64, default via fd02::1 (two daemons)
 *
 * Why IPv6 and 3fff::/20: libp2p's AutoNAT and DCUtR ignore every address it
 * deems private, and its list (@libp2p/utils isPrivate) holds every reserved
 * IPv4 range, the documentation ones included, so a NAT built on them would
 * never see a hole-punching attempt. 3fff::/20 is reserved for documentation
 * (RFC 9637), is never routed anywhere, and libp2p counts it as public; the
 * home LANs use unique local addresses (fd00::/8), which it counts as private.
 *
 * Network rule: every interface lives in a namespace created here; both ends
 * of every veth are created directly inside them (nothing is added to, or
 * routed from, the namespace the test runs in), so no packet can reach any
 * other host. Names start with a per-run prefix (`glnat<pid>`); `teardown`
 * deletes them, and `removeStale` deletes those of an earlier run whose
 * process is gone (after killing what still runs in them).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Namespace names of a run start with this, then the pid of the process that made them. */
export const NETNS_PREFIX = 'glnat';

export interface Home {
  router: string;
  lan: string;
  /** The LAN host's address (both daemons of the home listen on it). */
  hostAddress: string;
  /** The router's public (WAN) address: what peers outside see. */
  publicAddress: string;
}

export interface Topology {
  prefix: string;
  /** The public segment's namespace, where the relay runs. */
  pub: string;
  relayAddress: string;
  homes: [Home, Home];
  namespaces: string[];
}

async function ip(args: string[]): Promise<string> {
  return (await run('ip', args)).stdout;
}

async function inNs(ns: string, command: string, args: string[], input?: string): Promise<void> {
  if (input === undefined) {
    await run('ip', ['netns', 'exec', ns, command, ...args]);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', ns, command, ...args], (err) => (err === null ? resolve() : reject(err)));
    child.stdin?.end(input);
  });
}

/** Why namespaces cannot be made here (one line), or null when they can. */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root, as CI does)';
  for (const [tool, args] of [['ip', ['-V']], ['nft', ['--version']]] as const) {
    try {
      await run(tool, [...args]);
    } catch {
      return `${tool} is missing (apt-get install ${tool === 'ip' ? 'iproute2' : 'nftables'})`;
    }
  }
  const probe = `${NETNS_PREFIX}${process.pid}probe`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (err) {
    return `ip netns add failed: ${((err as { stderr?: string }).stderr ?? String(err)).trim().split('\n')[0]}`;
  }
  await ip(['netns', 'del', probe]).catch(() => undefined);
  return null;
}

/** Our namespaces (any run) currently present. */
async function ourNamespaces(): Promise<string[]> {
  const list = await ip(['netns', 'list']);
  return list
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.startsWith(NETNS_PREFIX));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills the processes running in `ns` (by pid) and deletes it. */
async function deleteNamespace(ns: string): Promise<void> {
  const pids = (await ip(['netns', 'pids', ns]).catch(() => ''))
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isSafeInteger(pid) && pid > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ip(['netns', 'del', ns]).catch(() => undefined);
}

/** Deletes namespaces left by an earlier run of this test whose process is gone; returns their names. */
export async function removeStale(): Promise<string[]> {
  const stale = (await ourNamespaces()).filter((name) => {
    const pid = Number(/^glnat(\d+)/.exec(name)?.[1]);
    return !(pid === process.pid || (Number.isSafeInteger(pid) && alive(pid)));
  });
  for (const ns of stale) await deleteNamespace(ns);
  return stale;
}

/** Builds the namespaces, links, addresses, routes and NAT rules above. Tears down what it made if a step fails. */
export async function buildTopology(): Promise<Topology> {
  const prefix = `${NETNS_PREFIX}${process.pid}`;
  const pub = `${prefix}pub`;
  const homes: [Home, Home] = [1, 2].map((n) => ({
    router: `${prefix}rt${n}`,
    lan: `${prefix}h${n}`,
    hostAddress: `fd0${n}::11`,
    publicAddress: `3fff:0:0:1::2${n}`,
  })) as [Home, Home];
  const topology: Topology = { prefix, pub, relayAddress: '3fff:0:0:1::10', homes, namespaces: [pub, ...homes.flatMap((h) => [h.router, h.lan])] };
  try {
    for (const ns of topology.namespaces) {
      await ip(['netns', 'add', ns]);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await ip(['-n', pub, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', pub, 'link', 'set', 'br0', 'up']);
    // nodad: the addresses are usable at once (no duplicate address detection on links only we use).
    await ip(['-n', pub, '-6', 'addr', 'add', '3fff:0:0:1::1/64', 'dev', 'br0', 'nodad']);
    await ip(['-n', pub, '-6', 'addr', 'add', `${topology.relayAddress}/64`, 'dev', 'br0', 'nodad']);
    for (const [i, home] of homes.entries()) {
      const n = i + 1;
      // Both ends created inside our namespaces: nothing ever appears in the namespace the test runs in.
      await ip(['link', 'add', 'name', `w${n}`, 'netns', pub, 'type', 'veth', 'peer', 'name', 'wan', 'netns', home.router]);
      await ip(['link', 'add', 'name', 'lan', 'netns', home.router, 'type', 'veth', 'peer', 'name', 'eth', 'netns', home.lan]);
      await ip(['-n', pub, 'link', 'set', `w${n}`, 'master', 'br0']);
      await ip(['-n', pub, 'link', 'set', `w${n}`, 'up']);
      for (const dev of ['wan', 'lan']) await ip(['-n', home.router, 'link', 'set', dev, 'up']);
      await ip(['-n', home.lan, 'link', 'set', 'eth', 'up']);
      await ip(['-n', home.router, '-6', 'addr', 'add', `${home.publicAddress}/64`, 'dev', 'wan', 'nodad']);
      await ip(['-n', home.router, '-6', 'addr', 'add', `fd0${n}::1/64`, 'dev', 'lan', 'nodad']);
      await ip(['-n', home.lan, '-6', 'addr', 'add', `${home.hostAddress}/64`, 'dev', 'eth', 'nodad']);
      await ip(['-n', home.lan, '-6', 'route', 'add', 'default', 'via', `fd0${n}::1`]);
      await inNs(home.router, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
      // A home router: masquerade what leaves through the WAN port; from the WAN only replies come in.
      await inNs(
        home.router,
        'nft',
        ['-f', '-'],
        `table ip6 home {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan" masquerade; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "lan" accept; }
}
`,
      );
    }
    return topology;
  } catch (err) {
    await teardown(topology);
    throw err;
  }
}

/** Kills what still runs in the topology's namespaces and deletes them. */
export async function teardown(topology: Pick<Topology, 'namespaces'>): Promise<void> {
  for (const ns of topology.namespaces) await deleteNamespace(ns);
}
