import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { pino } from 'pino';
import { run as keygen } from '../../src/cli/commands/keygen.ts';
import { checkDaemonSpecs, ConfigError, loadDaemonConfig, validateDaemonConfig, type DaemonConfig } from '../../src/node/config.ts';
import { IDENTITY_FILE } from '../../src/node/constants.ts';
import { Daemon } from '../../src/node/daemon.ts';
import { loadOrCreateIdentity } from '../../src/node/identity.ts';
import type { MetricsJson } from '../../src/node/metrics.ts';
import { PRIVACY_LEDGER_FILE, readAllowlist } from '../../src/node/privacy.ts';
import { SwarmKeyError, readSwarmKey, swarmKeyModeWarning, writeSwarmKey } from '../../src/node/swarm-key.ts';

const CODEC = 'q8';

async function getMetrics(url: string, token?: string): Promise<MetricsJson> {
  const res = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as MetricsJson;
}

/** Polls `check` (no fixed sleeps) until it holds or the deadline passes. */
async function until(check: () => Promise<boolean> | boolean, what: () => string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function nodeConfig(stateDir: string, nodeIndex: number, extra: Record<string, unknown>): DaemonConfig {
  return validateDaemonConfig({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    swarm: 'private-test',
    data: 'mnist',
    partition: 'iid',
    nodeIndex,
    numNodes: 4,
    model: 'mlp-small',
    backend: 'wasm',
    stateDir,
    // Different seeds: a merge changes a model's digest.
    seed: 21 + nodeIndex,
    exchangeIntervalMs: 150,
    announceIntervalMs: 200,
    evalIntervalMs: 60_000,
    checkpointIntervalMs: 60_000,
    stepsPerInterval: 1,
    dutyCycle: 1,
    metricsPort: 0,
    codec: CODEC,
    distill: false,
    logLevel: 'silent',
    ...extra,
  });
}

function makeDaemon(config: DaemonConfig): Daemon {
  return new Daemon({ config, logger: pino({ level: 'silent' }), libp2p: { discoveryIntervalMs: 300 }, exchange: { snapshotCodec: CODEC } });
}

/** Every peer a daemon ever held a connection with (libp2p connection:open events). */
function watchConnections(daemon: Daemon): Set<string> {
  const seen = new Set<string>();
  for (const c of daemon.libp2p!.getConnections()) seen.add(c.remotePeer.toString());
  daemon.libp2p!.addEventListener('connection:open', (event) => seen.add(event.detail.remotePeer.toString()));
  return seen;
}

/** The peer id a state dir will have (its identity is created now, as the daemon would). */
async function peerIdOf(stateDir: string): Promise<string> {
  const { privateKey } = await loadOrCreateIdentity(join(stateDir, IDENTITY_FILE));
  return peerIdFromPrivateKey(privateKey).toString();
}

describe('private swarms on 127.0.0.1', function () {
  this.timeout(300_000);
  let root: string;
  const daemons: Daemon[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-privacy-'));
  });

  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop(1000)));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keygen writes a swarm key with mode 0600 that the daemon reads, and never overwrites it', async () => {
    const path = join(root, 'keygen.key');
    const log = console.log;
    console.log = () => undefined;
    try {
      assert.equal(await keygen(['--out', path]), 0);
    } finally {
      console.log = log;
    }
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const key = await readSwarmKey(path);
    assert.match(new TextDecoder().decode(key), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/);
    await assert.rejects(writeSwarmKey(path), { name: 'SwarmKeyError', reason: 'exists', message: `${path} already exists: a swarm key is never overwritten (remove it first, or choose another --out)` });
    assert.deepEqual(await readSwarmKey(path), key);
    await writeFile(join(root, 'bad.key'), 'not a key\n');
    await assert.rejects(readSwarmKey(join(root, 'bad.key')), (err: unknown) => err instanceof SwarmKeyError && err.reason === 'bad-key');
  });

  it('with a pre-shared key: insiders exchange; a peer without the key and one with another key never connect, and nothing crosses', async () => {
    const [keyA, keyB] = [join(root, 'a.key'), join(root, 'b.key')];
    const log = console.log;
    console.log = () => undefined;
    try {
      assert.equal(await keygen(['--out', keyA]), 0);
      assert.equal(await keygen(['--out', keyB]), 0);
    } finally {
      console.log = log;
    }
    const insider1 = makeDaemon(nodeConfig(join(root, 'psk-1'), 0, { psk: keyA }));
    daemons.push(insider1);
    const info1 = await insider1.start();
    const insider2 = makeDaemon(nodeConfig(join(root, 'psk-2'), 1, { psk: keyA, bootstrap: info1.addresses }));
    daemons.push(insider2);
    const info2 = await insider2.start();
    const insiders = [info1.peerId, info2.peerId];
    const seen = [watchConnections(insider1), watchConnections(insider2)];
    // Outsiders train nothing: their digest moves only if a model reaches them.
    const outsiderConfig = (dir: string, index: number, psk: string | null) => nodeConfig(join(root, dir), index, { psk, bootstrap: [...info1.addresses, ...info2.addresses], stepsPerInterval: 0 });
    const noKey = makeDaemon(outsiderConfig('psk-none', 2, null));
    const otherKey = makeDaemon(outsiderConfig('psk-other', 3, keyB));
    daemons.push(noKey, otherKey);
    const [info3, info4] = await Promise.all([noKey.start(), otherKey.start()]);
    const outsiderDigests = await Promise.all([info3, info4].map(async (i) => (await getMetrics(i.metricsUrl)).model.paramsDigest));

    await until(async () => {
      const [m1, m2] = await Promise.all([getMetrics(info1.metricsUrl), getMetrics(info2.metricsUrl)]);
      return m1.exchange.merged >= 3 && m2.exchange.merged >= 3 && m1.peers.refused.psk + m2.peers.refused.psk >= 4;
    }, () => 'insiders to merge and to refuse both outsiders at both insiders');
    const [m1, m2, m3, m4] = await Promise.all([info1, info2, info3, info4].map((i) => getMetrics(i.metricsUrl)));
    for (const [i, m] of [m1, m2].entries()) {
      assert.ok([...seen[i]!].every((p) => insiders.includes(p)), `insider ${i + 1} connected to ${[...seen[i]!].join(', ')}`);
      assert.equal(m.exchange.rejected, 0, 'no outsider stream reached an insider');
      assert.equal(m.privacy.psk, true);
      assert.equal(m.peers.refused.allowlist, 0);
    }
    for (const [i, m] of [m3, m4].entries()) {
      assert.equal(m.peers.connected, 0);
      assert.equal(m.exchange.merged, 0);
      assert.equal(m.model.paramsDigest, outsiderDigests[i]);
      assert.equal([noKey, otherKey][i]!.libp2p!.getConnections().length, 0);
    }
    console.log(`      refused at insiders: psk ${m1.peers.refused.psk} + ${m2.peers.refused.psk}; insiders merged ${m1.exchange.merged} + ${m2.exchange.merged}; outsiders merged ${m3.exchange.merged} + ${m4.exchange.merged}`);
  });

  it('with an allowlist: listed peers exchange; an unlisted one is refused by the gater and gets no model', async () => {
    const [dirA, dirB] = [join(root, 'allow-a'), join(root, 'allow-b')];
    const [idA, idB] = await Promise.all([peerIdOf(dirA), peerIdOf(dirB)]);
    const listFile = join(root, 'allowed.txt');
    await writeFile(listFile, `# the swarm\n${idA}\n${idB}  # b\n\n`);
    const a = makeDaemon(nodeConfig(dirA, 0, { allowPeers: listFile }));
    daemons.push(a);
    const infoA = await a.start();
    const b = makeDaemon(nodeConfig(dirB, 1, { allowPeer: [idA], bootstrap: infoA.addresses }));
    daemons.push(b);
    const infoB = await b.start();
    const seen = [watchConnections(a), watchConnections(b)];
    const stranger = makeDaemon(nodeConfig(join(root, 'allow-c'), 2, { bootstrap: [...infoA.addresses, ...infoB.addresses], stepsPerInterval: 0 }));
    daemons.push(stranger);
    const infoC = await stranger.start();
    const digestC = (await getMetrics(infoC.metricsUrl)).model.paramsDigest;
    await until(async () => {
      const [ma, mb] = await Promise.all([getMetrics(infoA.metricsUrl), getMetrics(infoB.metricsUrl)]);
      return ma.exchange.merged >= 3 && ma.peers.refused.allowlist >= 1 && mb.peers.refused.allowlist >= 1;
    }, () => 'a and b to merge and to refuse the stranger');
    const [ma, mb, mc] = await Promise.all([infoA, infoB, infoC].map((i) => getMetrics(i.metricsUrl)));
    assert.deepEqual([ma.privacy.allowlist, mb.privacy.allowlist], [2, 1]);
    for (const s of seen) assert.ok([...s].every((p) => p === infoA.peerId || p === infoB.peerId), [...s].join(', '));
    assert.equal(ma.exchange.rejected + mb.exchange.rejected, 0);
    assert.equal(mc.exchange.merged, 0);
    assert.equal(mc.model.paramsDigest, digestC);
    console.log(`      refused by allowlist: ${ma.peers.refused.allowlist} at a, ${mb.peers.refused.allowlist} at b; stranger merged ${mc.exchange.merged}`);
  });

  it('with differential privacy: counts releases, stops sharing at the budget, keeps the ledger across a restart', async () => {
    const dirA = join(root, 'dp-a');
    // Z = 2: 5 releases cost epsilon 5.38, a 6th would take it to 6.00 (src/core/rdp-accountant.ts).
    const dp = { dpClip: 0.01, dpNoiseMultiplier: 2, dpDelta: 1e-5, dpEpsilonBudget: 5.5 };
    const a = makeDaemon(nodeConfig(dirA, 0, dp));
    daemons.push(a);
    const infoA = await a.start();
    const first = await getMetrics(infoA.metricsUrl);
    assert.deepEqual(first.privacy, { psk: false, allowlist: null, dp: { clip: 0.01, noiseMultiplier: 2, delta: 1e-5, epsilon: 0, releases: 0, budget: 5.5, exhausted: false } });
    const b = makeDaemon(nodeConfig(join(root, 'dp-b'), 1, { bootstrap: infoA.addresses }));
    daemons.push(b);
    const infoB = await b.start();
    await until(async () => (await getMetrics(infoA.metricsUrl)).privacy.dp!.exhausted, () => 'the budget to run out');
    const spent = (await getMetrics(infoA.metricsUrl)).privacy.dp!;
    assert.equal(spent.releases, 5);
    assert.ok(Math.abs(spent.epsilon - 5.3777) < 1e-3, `epsilon ${spent.epsilon}`);
    const ledger = JSON.parse(await readFile(join(dirA, PRIVACY_LEDGER_FILE), 'utf8')) as { releases: number };
    assert.equal(ledger.releases, 5);
    // From now on A answers BUSY and starts nothing: B's exchanges with it stop merging.
    const busyBefore = (await getMetrics(infoB.metricsUrl)).exchange.busy;
    await until(async () => (await getMetrics(infoB.metricsUrl)).exchange.busy >= busyBefore + 3, () => 'b to be answered busy');
    const [ma, mb] = await Promise.all([getMetrics(infoA.metricsUrl), getMetrics(infoB.metricsUrl)]);
    assert.equal(ma.privacy.dp!.releases, 5);
    const mergedAtB = mb.exchange.merged;
    await until(async () => (await getMetrics(infoB.metricsUrl)).exchange.busy >= mb.exchange.busy + 3, () => 'more busy answers');
    assert.equal((await getMetrics(infoB.metricsUrl)).exchange.merged, mergedAtB, 'nothing more from a node out of budget');

    await a.stop(1000);
    daemons.splice(daemons.indexOf(a), 1);
    const again = makeDaemon(nodeConfig(dirA, 0, dp));
    daemons.push(again);
    const infoAgain = await again.start();
    assert.deepEqual((await getMetrics(infoAgain.metricsUrl)).privacy.dp, { ...spent, exhausted: true });
  });

  it('with --metrics-token: every route but /healthz answers 401 without the token', async () => {
    const token = 'a-long-enough-token-for-tests';
    const d = makeDaemon(nodeConfig(join(root, 'token'), 0, { metricsToken: token }));
    daemons.push(d);
    const info = await d.start();
    const base = info.metricsUrl.replace(/\/metrics$/, '');
    for (const path of ['/metrics', '/metrics/prometheus', '/no-such-route']) {
      assert.equal((await fetch(`${base}${path}`)).status, 401, path);
      assert.equal((await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}x` } })).status, 401, path);
      assert.equal((await fetch(`${base}${path}`, { headers: { authorization: token } })).status, 401, path);
    }
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as MetricsJson).privacy.dp, null);
    assert.equal((await fetch(`${base}/metrics/prometheus`, { headers: { authorization: `bearer ${token}` } })).status, 200);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});

describe('privacy flags', () => {
  it('read from flags and the environment (GOSSIP_LEARN_PSK is a path)', async () => {
    const { config } = await loadDaemonConfig(['--allow-peer', 'a', '--allow-peer', 'b', '--dp-clip', '0.5', '--dp-noise-multiplier', '1.2'], { GOSSIP_LEARN_PSK: '/keys/swarm.key', GOSSIP_LEARN_METRICS_TOKEN: 'sixteen-characters' });
    assert.deepEqual(
      [config!.psk, config!.allowPeer, config!.metricsToken, config!.dpClip, config!.dpNoiseMultiplier, config!.dpDelta, config!.dpEpsilonBudget],
      ['/keys/swarm.key', ['a', 'b'], 'sixteen-characters', 0.5, 1.2, null, null],
    );
  });

  it('differential privacy needs both the clip and the noise multiplier, and delta and budget need them', () => {
    assert.throws(() => nodeConfig('/nonexistent', 0, { dpClip: 1 }), { name: 'ConfigError', message: '--dp-clip: differential privacy needs both --dp-clip and --dp-noise-multiplier' });
    assert.throws(() => nodeConfig('/nonexistent', 0, { dpEpsilonBudget: 8 }), { name: 'ConfigError', message: '--dp-clip: --dp-delta and --dp-epsilon-budget need --dp-clip and --dp-noise-multiplier' });
    assert.throws(() => nodeConfig('/nonexistent', 0, { dpClip: 1, dpNoiseMultiplier: 1, dpDelta: 1 }), (err: unknown) => err instanceof ConfigError && err.message.startsWith('--dp-delta: '));
  });

  it('a bad --allow-peer id is one line, in the user\'s terms (no libp2p decoder internals)', () => {
    assert.throws(() => checkDaemonSpecs(nodeConfig('/nonexistent', 0, { allowPeer: ['foo'] })), {
      name: 'ConfigError',
      reason: 'bad-value',
      message: "--allow-peer: 'foo' is not a peer id (expected a base58 id like 12D3KooW...)",
    });
  });

  it('a bad line of an --allow-peers file names the file and line the same way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gl-allow-'));
    try {
      const file = join(dir, 'allowed.txt');
      await writeFile(file, '# the swarm\nfoo\n');
      await assert.rejects(readAllowlist({ allowPeer: [], allowPeers: file }), {
        name: 'PrivacyError',
        reason: 'bad-allowlist',
        message: `--allow-peers ${file}:2: 'foo' is not a peer id (expected a base58 id like 12D3KooW...)`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('key and allowlist files are checked as config (one line, exit 2)', () => {
  const node = join(process.cwd(), 'node_modules', '.bin', 'node');
  const cli = (args: string[]) => spawnSync(node, ['bin/gossip-learn.js', ...args], { encoding: 'utf8', env: { ...process.env, GOSSIP_LEARN_PSK: '', GOSSIP_LEARN_ALLOW_PEERS: '' } });
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-psk-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('daemon: a missing or malformed --psk file, and a bad --allow-peers file, exit 2 with the gossip-learn: daemon: prefix', async () => {
    const missing = join(dir, 'missing.key');
    const garbage = join(dir, 'garbage.key');
    await writeFile(garbage, 'not a key\n', { mode: 0o600 });
    const state = ['--state-dir', join(dir, 'never-created')];
    const absent = cli(['daemon', '--psk', missing, ...state]);
    assert.deepEqual([absent.status, absent.stderr], [2, `gossip-learn: daemon: --psk: cannot read swarm key ${missing}: ENOENT\n`]);
    const bad = cli(['daemon', '--psk', garbage, ...state]);
    assert.deepEqual([bad.status, bad.stderr], [2, `gossip-learn: daemon: --psk: ${garbage} is not a swarm key (expected /key/swarm/psk/1.0.0/, /base16/ and 64 hex digits; make one with gossip-learn keygen --out FILE)\n`]);
    const list = cli(['daemon', '--allow-peers', join(dir, 'none.txt'), ...state]);
    assert.deepEqual([list.status, list.stderr], [2, `gossip-learn: daemon: cannot read --allow-peers ${join(dir, 'none.txt')}: ENOENT\n`]);
    await assert.rejects(stat(join(dir, 'never-created')), { code: 'ENOENT' });
  });

  it('names GOSSIP_LEARN_ALLOW_PEERS, not the flag, when the unreadable allowlist file came from the environment', async () => {
    const none = join(dir, 'none.txt');
    const fromEnv = await loadDaemonConfig([], { GOSSIP_LEARN_ALLOW_PEERS: none });
    await assert.rejects(readAllowlist(fromEnv.config!, fromEnv.nameOf), { name: 'PrivacyError', message: `cannot read GOSSIP_LEARN_ALLOW_PEERS ${none}: ENOENT` });
    const fromFlag = await loadDaemonConfig(['--allow-peers', none], {});
    await assert.rejects(readAllowlist(fromFlag.config!, fromFlag.nameOf), { name: 'PrivacyError', message: `cannot read --allow-peers ${none}: ENOENT` });
  });

  it('keygen: an existing --out file exits 2 with the gossip-learn: keygen: prefix, as its other usage errors', async () => {
    const path = join(dir, 'exists.key');
    await writeFile(path, 'x');
    const result = cli(['keygen', '--out', path]);
    assert.deepEqual([result.status, result.stderr], [2, `gossip-learn: keygen: ${path} already exists: a swarm key is never overwritten (remove it first, or choose another --out)\n`]);
    const noOut = cli(['keygen']);
    assert.deepEqual([noOut.status, noOut.stderr], [2, 'gossip-learn: keygen: --out FILE is required; `gossip-learn keygen --help` lists the options\n']);
  });

  it('a key file readable by group or others gets one warning line (not a refusal) suggesting chmod 600', async function () {
    if (process.platform === 'win32') this.skip();
    const path = join(dir, 'open.key');
    await writeSwarmKey(path);
    assert.equal(await swarmKeyModeWarning(path), null, 'keygen writes mode 0600');
    await chmod(path, 0o644);
    const warning = `warning: swarm key ${path} has mode 0644: group or others can read it and join the swarm; run chmod 600 ${path}`;
    assert.equal(await swarmKeyModeWarning(path), warning);
    // The daemon warns and goes on: here it stops at the next check (a missing --allow-peers file), before binding anything.
    const result = cli(['daemon', '--psk', path, '--allow-peers', join(dir, 'none.txt'), '--state-dir', join(dir, 'never-created')]);
    assert.deepEqual([result.status, result.stderr], [2, `gossip-learn: daemon: --psk: ${warning}\ngossip-learn: daemon: cannot read --allow-peers ${join(dir, 'none.txt')}: ENOENT\n`]);
  });
});

describe('--metrics-token is required off loopback', () => {
  it('refuses a non-loopback --metrics-host without a token, in one line, before binding anything', () => {
    assert.throws(() => nodeConfig('/nonexistent', 0, { metricsHost: '0.0.0.0' }), {
      name: 'ConfigError',
      message: '--metrics-host: a metrics host other than loopback needs --metrics-token TOKEN (or GOSSIP_LEARN_METRICS_TOKEN): /metrics would be open to the network',
    });
    assert.ok(nodeConfig('/nonexistent', 0, { metricsHost: '0.0.0.0', metricsToken: 'sixteen-chars-ok' }));
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.1.2.3']) assert.ok(nodeConfig('/nonexistent', 0, { metricsHost: host }));
    assert.throws(() => nodeConfig('/nonexistent', 0, { metricsToken: 'short' }), (err: unknown) => err instanceof ConfigError && err.reason === 'bad-value');
  });

  it('the CLI exits 2 with that one line (config is checked before any socket)', () => {
    const node = join(process.cwd(), 'node_modules', '.bin', 'node');
    const result = spawnSync(node, ['bin/gossip-learn.js', 'daemon', '--metrics-host', '0.0.0.0', '--state-dir', '/nonexistent/never-created'], { encoding: 'utf8', env: { ...process.env, GOSSIP_LEARN_METRICS_TOKEN: '' } });
    assert.equal(result.status, 2);
    assert.equal(
      result.stderr,
      'gossip-learn: daemon: --metrics-host: a metrics host other than loopback needs --metrics-token TOKEN (or GOSSIP_LEARN_METRICS_TOKEN): /metrics would be open to the network\n',
    );
  });
});
