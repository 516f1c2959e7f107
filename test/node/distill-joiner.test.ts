import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateDaemonConfig, type DaemonConfig } from '../../src/node/config.ts';
import { Daemon, type DaemonStartInfo } from '../../src/node/daemon.ts';
import { DistillJoinerService, type DistillJoinerOptions } from '../../src/node/distill-joiner.ts';
import { DistillTeacherService } from '../../src/node/distill-teacher.ts';

/** Polls `check` (no fixed sleeps) until it holds or the deadline passes. */
async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A join deadline no test waits for: a join that waited for its deadline would time the test out. */
const NEVER_MS = 600_000;
/** Caps on steps that take well under a second when the software works (a loaded machine is slow, not wrong). */
const JOIN_DEADLINE_MS = 60_000;
const READ_TIMEOUT_MS = 30_000;

function nodeConfig(stateDir: string, nodeIndex: number, overrides: Partial<Record<string, unknown>>): DaemonConfig {
  return validateDaemonConfig({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    swarm: 'join-test',
    data: 'mnist',
    partition: 'shards:3',
    nodeIndex,
    numNodes: 4,
    model: 'mlp-small',
    backend: 'wasm',
    stateDir,
    seed: 5,
    exchangeIntervalMs: 200,
    announceIntervalMs: 200,
    evalIntervalMs: 300,
    stepsPerInterval: 10,
    dutyCycle: 1,
    // Plain SGD at 0.1, as these timings were tuned with (the daemon's default is momentum 0.05).
    optimizer: 'sgd',
    learningRate: 0.1,
    metricsPort: 0,
    distill: true,
    logLevel: 'silent',
    ...overrides,
  });
}

describe('DistillJoinerService (with DistillTeacherService) in the daemon', function () {
  this.timeout(120_000);
  let root: string;
  const daemons: Daemon[] = [];

  function daemon(
    config: DaemonConfig,
    options: DistillJoinerOptions = {},
    onReady?: (info: DaemonStartInfo) => void,
  ): { daemon: Daemon; join: DistillJoinerService } {
    const join = new DistillJoinerService({ refreshIntervalMs: null, budget: { steps: 20 }, readTimeoutMs: READ_TIMEOUT_MS, ...options });
    const d = new Daemon({
      config,
      logger: pino({ level: 'silent' }),
      libp2p: { discoveryIntervalMs: 300 },
      joinServices: [new DistillTeacherService({ readTimeoutMs: READ_TIMEOUT_MS }), join],
      ...(onReady === undefined ? {} : { onReady }),
    });
    daemons.push(d);
    return { daemon: d, join };
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gl-join-'));
  });

  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop(1000)));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a first start distills from the announced teacher: same architecture starts from its weights; another architecture distills only', async () => {
    const teacher = daemon(nodeConfig(join(root, 't'), 0, { distill: false }));
    const info = await teacher.daemon.start();
    assert.deepEqual(teacher.join.outcome, { status: 'cold', reason: 'disabled' });
    await until(() => (teacher.daemon.model?.age ?? 0) > 0 && teacher.daemon.metrics.eval.accuracy !== null, 'the teacher to train and evaluate');

    const same = daemon(nodeConfig(join(root, 'j1'), 1, { bootstrap: info.addresses }), { deadlineMs: JOIN_DEADLINE_MS });
    await same.daemon.start();
    assert.equal(same.join.outcome?.status, 'distilled');
    assert.ok(same.join.outcome?.status === 'distilled' && same.join.outcome.startedFromTeacher && same.join.outcome.steps === 20);
    const distill = same.daemon.metrics.distill;
    assert.equal(distill.teacher, info.peerId);
    assert.ok(distill.accuracyBefore !== null && distill.accuracyAfter !== null && distill.seconds !== null);
    assert.ok(distill.bytes !== null && distill.bytes > 1000);
    assert.equal(distill.rejected, 0);
    // It holds the teacher's model now, so it carries (at least) the teacher's age.
    assert.ok(same.daemon.model!.age > 20);

    // No local training (steps per interval 0): its age moves only by distillation steps, so it is exact.
    const bigger = daemon(nodeConfig(join(root, 'j2'), 2, { bootstrap: info.addresses, model: 'mlp', stepsPerInterval: 0 }), {
      deadlineMs: JOIN_DEADLINE_MS,
      refreshIntervalMs: 200,
      refreshBudget: { steps: 5 },
    });
    await bigger.daemon.start();
    assert.ok(bigger.join.outcome?.status === 'distilled' && !bigger.join.outcome.startedFromTeacher);
    // Either trained peer may teach it (ranked by announced accuracy, then age).
    assert.ok([info.peerId, same.daemon.metrics.peerId].includes(bigger.daemon.metrics.distill.teacher));
    // Distilled only: its age counts its own distillation steps (20 at the join, 5 per re-distillation),
    // not the teacher's (which is above 20: `same` carries it).
    assert.equal(bigger.daemon.model!.age, 20 + 5 * bigger.join.refreshes);
    // No announced peer runs its model, so it cannot merge: it keeps distilling from teachers instead.
    await until(() => bigger.join.refreshes >= 1, 'a periodic re-distillation');
    assert.equal(bigger.daemon.metrics.exchange.merged, 0);
  });

  it('with no --teacher, --bootstrap or --mdns starts cold at once, without waiting for the deadline', async () => {
    // A deadline beyond the test's timeout: only the 'no-discovery' path can end this join in time.
    const first = daemon(nodeConfig(join(root, 'first'), 0, {}), { deadlineMs: NEVER_MS });
    await first.daemon.start();
    assert.deepEqual(first.join.outcome, { status: 'cold', reason: 'no-discovery' });
    assert.equal(first.daemon.metrics.distill.teacher, null);
    await until(() => (first.daemon.model?.age ?? 0) > 0, 'the cold-started node to train');
  });

  it('with only untrained peers announced starts cold after the grace period, long before the deadline', async () => {
    // An untrained peer that stays so: it is itself joining, waiting (past the test's end) for a forced teacher that never answers.
    const ready: { info: DaemonStartInfo | null } = { info: null };
    const joining = daemon(
      nodeConfig(join(root, 'joining'), 0, { teacher: '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGRUVh8HqjjTaKuDPmwvrMnKJ7rPuHBnmfEDHYdvGjVSn' }),
      { deadlineMs: NEVER_MS },
      (info) => (ready.info = info),
    );
    // Stopped while still joining: start() rejects with DaemonStoppedError (a stop during start wins); caught from now on.
    const joiningStarted = joining.daemon.start().then(
      () => null,
      (err: unknown) => err,
    );
    await until(() => ready.info !== null, 'the joining peer to listen');
    const joiningInfo = ready.info!;
    // Default grace (announce interval 200 ms + 1 s); a deadline beyond the test's timeout, so only the grace can end the join in time.
    const joiner = daemon(nodeConfig(join(root, 'joiner'), 1, { bootstrap: joiningInfo.addresses }), { deadlineMs: NEVER_MS });
    await joiner.daemon.start();
    assert.deepEqual(joiner.join.outcome, { status: 'cold', reason: 'untrained-peers' });
    assert.equal(joiner.daemon.announcements.get(joiningInfo.peerId)?.age, 0);
    assert.equal(joining.join.outcome, null, 'the forced-teacher peer is still waiting');
    assert.equal(joiner.daemon.metrics.distill.teacher, null);
    await Promise.all(daemons.splice(0).map((d) => d.stop(1000)));
    assert.equal(((await joiningStarted) as Error | null)?.name, 'DaemonStoppedError');
    assert.deepEqual(joining.join.outcome, { status: 'cold', reason: 'aborted' });
  });

  it('with a bootstrap peer that never comes up starts cold once the deadline passes', async () => {
    const alone = daemon(nodeConfig(join(root, 'alone'), 0, { bootstrap: ['/ip4/127.0.0.1/tcp/1'] }), { deadlineMs: 400 });
    await alone.daemon.start();
    assert.deepEqual(alone.join.outcome, { status: 'cold', reason: 'no-teacher' });
    assert.equal(alone.daemon.metrics.distill.teacher, null);
    assert.equal(alone.daemon.metrics.distill.rejected, 0);
  });

  it('a forced --teacher that does not answer leads to a cold start within the deadline', async () => {
    const forced = daemon(nodeConfig(join(root, 'forced'), 0, { teacher: '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGRUVh8HqjjTaKuDPmwvrMnKJ7rPuHBnmfEDHYdvGjVSn' }), { deadlineMs: 600 });
    await forced.daemon.start();
    assert.deepEqual(forced.join.outcome, { status: 'cold', reason: 'no-teacher' });
  });
});
