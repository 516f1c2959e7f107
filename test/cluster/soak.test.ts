/**
 * The churn soak (src/cluster/soak.ts): its checks on synthetic evidence
 * (each one must be able to fail), the checkpoint audit on real files, and a
 * 60-second soak with real daemons: 3 nodes, kill -9 every 12 s, no steady
 * twin. Its accuracy criterion is looser than the full soak's and stated as
 * such: without the side-by-side run there is nothing to be within 3 points
 * of, so the churn swarm's final mean accuracy must reach MIN_ACCURACY (well
 * above the 10% of chance on MNIST; a working 60 s run measured about 93%).
 */
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterError } from '../../src/cluster/errors.ts';
import type { ClusterResults } from '../../src/cluster/results.ts';
import { analyzeSoak, CheckpointAudit, rejoinsOf, runSoak, scanDaemonLogs, strayTempFiles, unexpectedExits, type SoakEvidence } from '../../src/cluster/soak.ts';
import { parseSoakCommand, type SoakConfig } from '../../src/cluster/soak-options.ts';
import { CHECKPOINT_FILE } from '../../src/node/constants.ts';
import { saveCheckpoint } from '../../src/train/checkpoint.ts';
import { syntheticResults } from './synthetic.ts';

const MIN_ACCURACY = 0.5;

function config(overrides: Partial<SoakConfig> = {}): SoakConfig {
  const command = parseSoakCommand(['--duration', '60s', '--kill-every', '12s', '--settle', '20s', '--out', '/tmp/unused'], new Date(0));
  assert.equal(command.kind, 'run');
  return { ...(command as { config: SoakConfig }).config, ...overrides };
}

function evidence(overrides: Partial<SoakEvidence> = {}): SoakEvidence {
  return {
    churn: syntheticResults(),
    steady: syntheticResults(),
    audit: { loaded: 5, failures: [] },
    logs: { unhandled: [], restored: 1, setAside: 0 },
    strayTempFiles: [],
    ...overrides,
  };
}

const dirs = { churn: '/tmp/churn', steady: '/tmp/steady' };
const failed = (report: ReturnType<typeof analyzeSoak>): string[] => report.checks.filter((c) => !c.passed).map((c) => c.name);

describe('soak options', () => {
  it('reads durations with units and refuses a bare number with a hint', () => {
    const c = config();
    assert.equal(c.durationSeconds, 60);
    assert.equal(c.killEverySeconds, 12);
    assert.equal(c.settleSeconds, 20);
    assert.throws(() => parseSoakCommand(['--kill-every', '30']), (err: unknown) => err instanceof ClusterError && err.reason === 'bad-option' && /--kill-every: '30' has no unit: 30ms or 30s\?/.test(err.message));
  });

  it('points a daemon-only flag to --daemon-arg', () => {
    assert.throws(() => parseSoakCommand(['--byte-budget', '1MB']), {
      name: 'ClusterError',
      reason: 'bad-option',
      message: '--byte-budget is a daemon flag: pass it to every daemon with --daemon-arg=--byte-budget=1MB; `npm run soak -- --help` lists the options',
    });
  });

  it('refuses a kill interval that leaves no kill before the settle period', () => {
    assert.throws(
      () => parseSoakCommand(['--duration', '60s', '--kill-every', '50s', '--settle', '20s']),
      (err: unknown) => err instanceof ClusterError && err.message === '--kill-every (50000 ms) leaves no kill before the last --settle (20000 ms) of a 60000 ms run',
    );
  });
});

describe('analyzeSoak', () => {
  it('passes a run where every check holds', () => {
    const report = analyzeSoak(config(), evidence(), dirs);
    assert.deepEqual(failed(report), []);
    assert.equal(report.passed, true);
    assert.deepEqual(report.churn.rejoins, [{ node: 'node-1', restartedAt: 33, rejoinSeconds: 3 }]);
  });

  it('fails a restarted node that never merges again', () => {
    const churn = syntheticResults();
    const node = churn.nodes.find((n) => n.name === 'node-1')!;
    const before = node.series.filter((s) => s.t <= 33).at(-1)!.merged;
    for (const s of node.series) if (s.t > 33) s.merged = before;
    assert.deepEqual(rejoinsOf(churn), [{ node: 'node-1', restartedAt: 33, rejoinSeconds: null }]);
    assert.deepEqual(failed(analyzeSoak(config(), evidence({ churn }), dirs)), ['rejoin']);
  });

  it('fails a run without any restart (it tested nothing)', () => {
    const churn: ClusterResults = { ...syntheticResults(), events: [] };
    assert.deepEqual(failed(analyzeSoak(config(), evidence({ churn }), dirs)), ['rejoin']);
  });

  it('fails on a crash, a stop with a non-zero code, a bad checkpoint, an uncaught line and a left temp file', () => {
    const churn = syntheticResults();
    churn.nodes[0]!.exits.push({ t: 50, code: 70, signal: null, cause: 'crash' });
    churn.nodes[2]!.exits.push({ t: 65, code: 1, signal: null, cause: 'stop' });
    assert.equal(unexpectedExits(churn).length, 2);
    const report = analyzeSoak(
      config(),
      evidence({
        churn,
        audit: { loaded: 5, failures: [{ path: 'x', reason: 'bad-checksum', message: 'x: checksum mismatch' }] },
        logs: { unhandled: ['daemon.log: uncaught exception'], restored: 1, setAside: 0 },
        strayTempFiles: ['state/.checkpoint.bin.tmp-1-ab'],
      }),
      dirs,
    );
    assert.deepEqual(failed(report), ['checkpoints', 'exits', 'logs', 'temp-files']);
  });

  it('fails when churn costs more than the allowed drop, or misses the floor', () => {
    const steady = syntheticResults();
    const churn = syntheticResults();
    steady.final.meanAccuracy = 0.9;
    churn.final.meanAccuracy = 0.86;
    assert.deepEqual(failed(analyzeSoak(config(), evidence({ churn, steady }), dirs)), ['accuracy']);
    churn.final.meanAccuracy = 0.875;
    assert.deepEqual(failed(analyzeSoak(config(), evidence({ churn, steady }), dirs)), []);
    assert.deepEqual(failed(analyzeSoak(config({ steady: false, minAccuracy: 0.9 }), evidence({ churn, steady: null }), dirs)), ['accuracy']);
  });
});

describe('CheckpointAudit', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-soak-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads each new version once and reports one that does not load', async () => {
    const state = join(dir, 'state');
    await mkdir(state);
    const audit = new CheckpointAudit([state]);
    const input = { modelName: 'mlp', modelHash: 'h', params: new Float32Array([1, 2, 3]), age: 1, samplesSeen: 32 };
    await saveCheckpoint(join(state, CHECKPOINT_FILE), input);
    await audit.scan();
    await audit.scan();
    assert.equal(audit.loaded, 1);
    await saveCheckpoint(join(state, CHECKPOINT_FILE), { ...input, age: 2, params: new Float32Array([1, 2, 3, 4]) });
    await audit.scan();
    assert.equal(audit.loaded, 2);
    await writeFile(join(state, `${CHECKPOINT_FILE}.corrupt-2026`), 'not a checkpoint');
    await audit.stop();
    assert.equal(audit.failures.length, 1);
    assert.equal(audit.failures[0]?.reason, 'truncated');
    await writeFile(join(state, `.${CHECKPOINT_FILE}.tmp-1-ab`), '');
    assert.deepEqual(await strayTempFiles([state]), [join(state, `.${CHECKPOINT_FILE}.tmp-1-ab`)]);
  });

  it('finds unhandled and uncaught log lines and counts restores', async () => {
    const log = join(dir, 'daemon.log');
    await writeFile(log, '{"level":30,"msg":"checkpoint restored"}\n{"level":50,"msg":"uncaught exception"}\nUnhandledPromiseRejection: x\n');
    const found = await scanDaemonLogs([log, join(dir, 'missing.log')]);
    assert.equal(found.restored, 1);
    assert.equal(found.unhandled.length, 2);
  });
});

describe('soak with real daemons (60 s)', function () {
  this.timeout(240_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gl-soak-run-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('kills and restarts daemons with nothing lost', async () => {
    const c = config({ nodes: 3, steady: false, minAccuracy: MIN_ACCURACY, outDir: dir, daemonArgs: ['--log-level=info'] });
    const report = await runSoak(c, { log: () => undefined });
    const summary = report.checks.map((check) => `${check.passed ? 'ok' : 'FAIL'} ${check.name}: ${check.detail}`).join('\n');
    assert.ok(report.passed, summary);
    assert.ok(report.churn.restarts >= 2, summary);
    assert.ok(report.checkpoints.versionsLoaded >= report.churn.restarts, summary);
  });
});
